"""The cache of analysed built-in specs: a hit gives exactly what an analysis gives; any change
of code, spec file or argument is a new key; damaged entries are ignored and rewritten; writes
are atomic; CNNSTAT_NO_CACHE turns it off.  (What the cache must never do -- run code, change a
gate's answer, trust a directory others can write -- is in tests/test_trust_cache.py.)"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cnnstat import analysis
from cnnstat.analysis import cache, cache_codec


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("CNNSTAT_CACHE_DIR", str(where))
    monkeypatch.delenv("CNNSTAT_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "_ZOO", None)
    return where


def entries(where: Path) -> list[Path]:
    """The analysed specs' entries (not the zoo index, not parts derived from an entry)."""
    return sorted(p for p in where.glob("*.json")
                  if not p.name.startswith("zoo-") and "-" not in p.stem)


def test_a_hit_equals_a_fresh_analysis(cache_dir: Path) -> None:
    first = analysis.run("resnet18", batch=4)
    assert first._report is not None and len(entries(cache_dir)) == 1  # analysed, then stored
    hit = analysis.run("resnet18", batch=4)
    assert hit._report is None and hit._blob is not None  # served from the cache
    assert hit.brief == first.report.brief
    assert hit.report.rows == first.report.rows and hit.report.graph == first.report.graph
    assert hit.report.totals == first.report.totals
    assert hit.source.values == first.source.values
    assert hit.loaded.name == "resnet18"  # the spec itself still loads on demand


@pytest.mark.parametrize(("a", "b"), [
    (("vgg16", None, 1, None), ("vgg16", None, 2, None)),
    (("vgg16", None, 1, None), ("vgg16", (3, 32, 32), 1, None)),
    (("vgg16", None, 1, None), ("vgg16", None, 1, {"classes": 10})),
    (("vgg16", None, 1, {"classes": 10}), ("vgg16", None, 1, {"classes": "10"})),
    (("vgg16", None, 1, None), ("vgg16-bn", None, 1, None)),
])
def test_every_argument_is_in_the_key(cache_dir: Path, a: tuple, b: tuple) -> None:
    assert cache.key_for(*a) != cache.key_for(*b)
    assert cache.key_for(*a) == cache.key_for(*a)


def test_a_code_change_is_a_new_key(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.key_for("vgg16", None, 1, None)
    monkeypatch.setattr(cache, "code_digest", lambda: "another version of the code")
    assert cache.key_for("vgg16", None, 1, None) != before


def test_only_built_in_specs_are_cached(cache_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("name: n\ninput: [1, 8, 8]\nlayers:\n  - conv: {out: 2, kernel: 3}\n")
    assert cache.key_for(str(path), None, 1, None) is None
    assert cache.key_for("-", None, 1, None) is None
    assert cache.key_for("no-such-net", None, 1, None) is None
    analysis.run(str(path))
    assert entries(cache_dir) == []


def _damages(path: Path) -> list[bytes]:
    """An empty file, not JSON, a header whose digest does not match the content (one number
    changed), and another key's entry renamed to this one."""
    good = path.read_bytes()
    head, _, body = good.partition(b"\n")
    changed = body.replace(b'"macs":', b'"macs":1', 1)
    other = cache.key_for("lenet5", None, 2, None)
    assert other is not None and changed != body
    analysis.run("lenet5", batch=2)
    renamed = (path.parent / f"{other}.json").read_bytes()
    return [b"", b"not json\n", head + b"\n" + changed, renamed]


@pytest.mark.parametrize("which", range(4))
def test_a_damaged_entry_is_ignored_and_rewritten(cache_dir: Path, which: int) -> None:
    expected = analysis.run("lenet5").report.totals
    (path,) = entries(cache_dir)
    path.write_bytes(_damages(path)[which])
    again = analysis.run("lenet5")
    assert again._report is not None  # analysed afresh
    assert again.report.totals == expected
    assert cache.get(path.stem) is not None  # and stored again


def test_a_stored_report_that_is_not_the_entrys_report_is_analysed_again(cache_dir: Path) -> None:
    """An entry that verifies but whose report part is not a report of its brief (only someone
    who can write the directory could make one): the numbers shown are computed afresh."""
    expected = analysis.run("lenet5").report
    (path,) = entries(cache_dir)
    entry = cache.get(path.stem)
    assert entry is not None
    for blob in (cache_codec.encode("not a report"), cache_codec.encode(analysis.analyze("vgg16"))):
        cache.put(cache.Entry(entry.key, entry.brief, entry.source, blob))
        hit = analysis.run("lenet5")
        assert hit._report is None  # served from the cache ...
        assert hit.report.rows == expected.rows  # ... but its report analysed again


def test_writes_are_atomic_and_leave_no_temporary_files(cache_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    expected = analysis.run("lenet5").report.totals.params
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(".")] == []
    assert (cache_dir.stat().st_mode & 0o777) == 0o700

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    (path,) = entries(cache_dir)
    path.unlink()
    assert analysis.run("lenet5").report.totals.params == expected  # still answers
    assert entries(cache_dir) == []  # nothing half-written
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(".")] == []


def test_no_cache_means_no_files(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNSTAT_NO_CACHE", "1")
    analysis.run("lenet5")
    assert not cache_dir.exists()


def test_cli_output_is_the_same_from_the_cache(cache_dir: Path,
                                               cli: Callable[..., Result]) -> None:
    for args in (("summary", "resnet18", "--format", "json"), ("params", "vgg16"), ("list",),
                 ("memory", "alexnet", "--format", "csv"),
                 ("summary", "squeezenet1-0", "--format", "markdown")):  # with an accepted W501
        fresh = cli(*args)
        cached = cli(*args)
        assert fresh.exit_code == cached.exit_code == 0
        assert fresh.stdout == cached.stdout and fresh.stderr == cached.stderr
    assert len(entries(cache_dir)) >= 4


def test_receptive_field_sizes_are_kept_beside_the_entry(cache_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnstat.core import receptive

    fresh = analysis.run("resnet18")
    sizes = fresh.field_sizes
    assert sizes == receptive.field_sizes(fresh.report)
    assert sizes[0] is not None and (sizes[0].h, sizes[0].w) == (7, 7)  # the 7x7 stem conv
    (path,) = entries(cache_dir)
    assert (cache_dir / f"{path.stem}-rf.json").exists()

    def walk(report: object) -> None:
        raise AssertionError("the sizes were computed again")

    monkeypatch.setattr(receptive, "receptive_fields", walk)
    monkeypatch.setattr(receptive, "analytic_fields", walk)  # the walk without boxes
    assert analysis.run("resnet18").field_sizes == sizes  # a hit: no walk


@pytest.mark.parametrize("damage", [None, (), ("7x7",) * 69])
def test_damaged_field_sizes_are_computed_again(cache_dir: Path, damage: object) -> None:
    sizes = analysis.run("resnet18").field_sizes
    (path,) = entries(cache_dir)
    part = cache_dir / f"{path.stem}-rf.json"
    if damage is None:
        part.write_bytes(b"junk")  # unreadable
    else:
        cache.put_part(path.stem, "rf", damage)  # a valid entry of the wrong length, or not sizes
    assert analysis.run("resnet18").field_sizes == sizes
    assert cache.get_part(path.stem, "rf") == sizes  # and stored again


def test_the_source_map_is_decoded_only_when_used(cache_dir: Path) -> None:
    """``list`` reads the brief of every entry and nothing more; a source map that does not
    decode is the loaded spec's own."""
    fresh = analysis.run("squeezenet1-0")  # a spec with an accepted warning to locate
    (path,) = entries(cache_dir)
    hit = analysis.run("squeezenet1-0")
    assert hit._source is None  # not decoded yet
    assert hit.source.values == fresh.source.values
    entry = cache.get(path.stem)
    assert entry is not None
    cache.put(cache.Entry(entry.key, entry.brief, b"junk", entry.report))
    damaged = analysis.run("squeezenet1-0")
    assert damaged._report is None and damaged.source.values == fresh.source.values
