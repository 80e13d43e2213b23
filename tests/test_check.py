"""`cnnstat check`: every problem of every file, figures, pins, budgets, variants, exit codes and
the four output formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from cnnstat import zoo
from cnnstat.check import files as checking
from tests.conftest import fresh_imports, write

NET = """\
name: net
input: [3, 8, 8]
params: {width: 4}
variants:
  wide:
    set: {width: 8}
    reference:
      params: {value: 1, source: "Wide et al. (a typo)"}
layers:
  - conv: {out: $width, kernel: 3, padding: 1}
  - relu
reference:
  params:
    - {value: 112, source: "Net et al. 2020"}
    - {value: 100, source: "a blog", known_difference: "it forgets the biases"}
"""
# 3*3*3*4 + 4 = 112 parameters; the wide variant has 3*3*3*8 + 8 = 224.


def test_every_problem_in_every_file_is_reported(cli: Callable, tmp_path: Path) -> None:
    bad1 = write(tmp_path, "name: a\ninput: [3, 4, 4]\nlayers: [conv: {out: 1, kernel: 9}]\n",
                 "a.yaml")
    bad2 = write(tmp_path, "name: b\ninput: [3, 4, 4]\nlayers: [rleu]\n", "b.yaml")
    good = write(tmp_path, "name: c\ninput: [3, 4, 4]\nlayers: [relu]\n", "c.yaml")
    result = cli("check", bad1, bad2, good)
    assert result.exit_code == 1 and result.stdout == ""
    assert f"{bad1}:3:" in result.stderr and "error[E401]" in result.stderr
    assert f"{bad2}:3:10: error[E204]: unknown layer kind or block 'rleu'" in result.stderr
    assert result.stderr.splitlines()[-1] == \
        "checked 3 files (3 specs): 2 failed, 2 errors, 0 warnings, 0 notes"


def test_directories_are_searched_recursively(cli: Callable, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path, "name: a\ninput: [3, 4, 4]\nlayers: [relu]\n", "sub/a.yml")
    write(tmp_path, "name: b\ninput: [3, 4, 4]\nlayers: [relu]\n", "b.yaml")
    write(tmp_path, "not a spec", "notes.txt")
    assert [p for p, _ in checking.spec_files([str(tmp_path)])] == \
        [str(tmp_path / "b.yaml"), str(tmp_path / "sub" / "a.yml")]
    assert cli("check", str(tmp_path)).stderr.startswith("checked 2 files (2 specs)")


def test_default_is_the_builtin_directory() -> None:
    (path,) = checking.default_paths()
    assert Path(path).resolve() == zoo.specs_dir().resolve()


def test_a_builtin_name_checks_that_spec(cli: Callable) -> None:
    result = cli("check", "efficientnet-b2", "--format", "json")
    doc = json.loads(result.stdout)
    assert [s["name"] for f in doc["files"] for s in f["specs"]] == ["efficientnet-b2"]
    assert result.exit_code == 0


def test_could_not_run_is_exit_2_and_the_others_are_still_checked(cli: Callable,
                                                                   tmp_path: Path) -> None:
    bad = write(tmp_path, "name: a\ninput: [3, 4, 4]\nlayers: [rleu]\n")
    result = cli("check", str(tmp_path / "missing.yaml"), bad)
    assert result.exit_code == 2
    assert "cnnstat: error: " in result.stderr and "no such file" in result.stderr
    assert "error[E204]" in result.stderr and "1 could not be read" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("check", str(empty)).exit_code == 2


def test_defaults_and_every_variant_are_checked(cli: Callable, tmp_path: Path) -> None:
    path = write(tmp_path, NET)
    result = cli("check", path, "--notes")
    assert result.exit_code == 1
    assert (f"{path}:8:15: error[E601]: net-wide: params: computed 224, published 1 by Wide et "
            "al. (a typo) (off by 223, +22300.00%; tolerance 0)\n") in result.stderr
    assert (f"{path}:15:7: note[N602]: net: params: computed 112, published 100 by a blog (off by "
            "12, +12.00%): known difference: it forgets the biases\n") in result.stderr
    assert "Net et al." not in result.stderr  # it agrees: nothing to say
    assert result.stderr.splitlines()[-1] == \
        "checked 1 file (2 specs): 1 failed, 1 error, 0 warnings, 1 note"
    quiet = cli("check", path)  # notes are counted, not shown, unless asked for (issue 29)
    assert "note[N602]" not in quiet.stderr and "error[E601]" in quiet.stderr
    assert quiet.stderr.splitlines()[-1] == \
        "checked 1 file (2 specs): 1 failed, 1 error, 0 warnings, 1 note (--notes shows them)"
    doc = json.loads(cli("check", path, "--format", "json").stdout)  # always in JSON
    assert "N602" in [d["code"] for f in doc["files"] for d in f["diagnostics"]]


def test_stale_note_expect_and_budget(cli: Callable, tmp_path: Path) -> None:
    path = write(tmp_path, """\
name: pins
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
reference:
  params: {value: 112, source: "a paper", known_difference: "explained once"}
expect:
  params: 112
  macs: 1000
budget:
  params: 100
  activations: 1000
""")
    result = cli("check", path)
    err = result.stderr
    assert result.exit_code == 1
    assert f"{path}:6:11: warning[W603]: params: computed 112, published 112 by a paper agree " \
        "within the tolerance, but the figure still carries a known_difference note" in err
    macs = 8 * 8 * 4 * 3 * 3 * 3
    assert f"{path}:9:9: error[E604]: expect macs: computed {macs:,}, pinned 1,000 " \
        f"(+{macs - 1000:,})" in err
    assert f"{path}:11:11: error[E605]: budget params: 112 exceeds the limit 100 by 12 (12.0%)" \
        in err
    assert "expect params" not in err and "budget activations" not in err  # 256 <= 1000
    assert err.splitlines()[-1] == "checked 1 file (1 spec): 1 failed, 2 errors, 1 warning, " \
        "0 notes"


def test_variant_budget_overrides_the_spec_budget(cli: Callable, tmp_path: Path) -> None:
    text = NET.replace("    set: {width: 8}\n", "    set: {width: 8}\n    budget: {params: 300}\n")
    text = text.replace("reference:\n  params:\n    - {value: 112", "budget: {params: 200}\n"
                        "reference:\n  params:\n    - {value: 112")
    result = cli("check", write(tmp_path, text), "--format", "json")
    codes = [d["code"] for f in json.loads(result.stdout)["files"] for d in f["diagnostics"]]
    assert "E605" not in codes  # 112 <= 200 and 224 <= 300


def test_strict_turns_warnings_into_failures(cli: Callable, tmp_path: Path) -> None:
    path = write(tmp_path, "name: u\ninput: [3, 4, 4]\nblocks:\n  spare: {layers: [relu]}\n"
                 "layers: [relu]\n")
    result = cli("check", path)
    assert result.exit_code == 0
    assert f"{path}:4:3: warning[W504]: block 'spare' is never used" in result.stderr
    assert cli("check", path, "--strict").exit_code == 1
    assert "warning[W504]" in cli("summary", path).stderr  # every command warns


def test_json_report(cli: Callable, tmp_path: Path) -> None:
    result = cli("check", write(tmp_path, NET), "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and doc["command"] == "check"
    (entry,) = doc["files"]
    assert entry["status"] == "failed"
    assert [s["name"] for s in entry["specs"]] == ["net", "net-wide"]
    figures = entry["specs"][0]["figures"]
    assert [(f["status"], f["line"]) for f in figures] == [("agrees", 14), ("known", 15)]
    assert entry["specs"][0]["totals"]["params"] == 3 * 3 * 3 * 4 + 4
    diag = next(d for d in entry["diagnostics"] if d["code"] == "E601")
    assert (diag["line"], diag["column"], diag["specs"]) == (8, 15, ["net-wide"])
    assert doc["summary"] == {"files": 1, "specs": 2, "failed": 1, "could_not_run": 0,
                              "errors": 1, "warnings": 0, "notes": 1}
    assert result.stderr.startswith("checked 1 file")  # the summary still goes to stderr


def test_github_annotations(cli: Callable, tmp_path: Path) -> None:
    path = write(tmp_path, NET)
    out = cli("check", path, "--format", "github").stdout.splitlines()
    assert out[0] == (f"::notice file={path},line=15,col=7,title=N602::net: params: computed "
                      "112, published 100 by a blog (off by 12, +12.00%25): known difference: "
                      "it forgets the biases")
    assert out[1].startswith(f"::error file={path},line=8,col=15,title=E601::net-wide: params: "
                             "computed 224, published 1 by Wide et al. (a typo) (off by 223, "
                             "+22300.00%25; tolerance 0)%0Ahint: ")
    assert len(out) == 2


def test_junit_report(cli: Callable, tmp_path: Path) -> None:
    good = write(tmp_path, "name: ok\ninput: [3, 4, 4]\nlayers: [relu]\n", "ok.yaml")
    net = write(tmp_path, NET, "net.yaml")
    broken = write(tmp_path, "name: x\nlayers: [\n", "broken.yaml")
    result = cli("check", good, net, broken, str(tmp_path / "missing.yaml"), "--format", "junit")
    assert result.exit_code == 2
    root = ET.fromstring(result.stdout)
    (suite,) = root
    cases = {(c.get("classname"), c.get("name")): c for c in suite}
    assert set(cases) == {(good, "ok"), (net, "net"), (net, "net-wide"), (broken, broken),
                          (str(tmp_path / "missing.yaml"), str(tmp_path / "missing.yaml"))}
    assert suite.get("tests") == "5" and suite.get("failures") == "2"
    assert suite.get("errors") == "1"
    failure = cases[(net, "net-wide")].find("failure")
    assert failure is not None and failure.get("type") == "E601"
    assert "Wide et al." in (failure.text or "")
    assert cases[(net, "net")].find("failure") is None
    assert "N602" in (cases[(net, "net")].findtext("system-out") or "")
    assert cases[(broken, broken)].find("failure").get("type") == "E101"  # type: ignore[union-attr]


def test_junit_survives_control_characters(cli: Callable, tmp_path: Path) -> None:
    path = tmp_path / "ctl.yaml"
    path.write_bytes(b"name: x\ninput: [3, 4, 4]\nlayers: [re\x01lu]\n")
    result = cli("check", str(path), "--format", "junit")
    assert result.exit_code == 1
    assert ET.fromstring(result.stdout).find(".//failure") is not None


def test_check_does_not_import_torch_or_rich() -> None:
    proc, loaded = fresh_imports(argv=["check", "vgg16", "--format", "json"])
    assert json.loads(proc.stdout)["summary"]["specs"] == 1  # a built-in name: that spec only
    assert loaded & {"torch", "fvcore", "rich"} == set()


def test_accepted_warning_is_a_note_and_a_stale_acceptance_is_a_warning(cli, tmp_path) -> None:
    base = "name: a\ninput: [3, 224, 224]\nlayers:\n  - conv: {out: 8, kernel: 11, stride: 4}\n"
    accept = "accept:\n  - {code: W501, layer: conv1, reason: as published}\n"
    path = tmp_path / "a.yaml"
    path.write_text(base + accept, encoding="utf-8")
    result = cli("check", str(path), "--strict", "-v")
    assert result.exit_code == 0, result.stderr
    assert "note[W501]" in result.stderr and "(accepted: as published)" in result.stderr
    path.write_text(base.replace("stride: 4", "stride: 4, padding: 2") + accept, encoding="utf-8")
    result = cli("check", str(path), "--strict")
    assert result.exit_code == 1
    assert "warning[W608]: accept: no W501 warning for layer 'conv1' to accept" in result.stderr
