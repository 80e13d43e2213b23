"""cnnstat sweep: configurations, exact rows, budgets and the Pareto front (issue 18, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnstat.analysis.pareto import Budget, Objective, front, within
from cnnstat.analysis.sweep import Evaluator, config_key, grid, last_field, sample, shard
from cnnstat.cli.options import parse_budget, parse_count, parse_shard, parse_vary
from cnnstat.errors import UsageError

TINY = """\
name: tiny
input: [3, 8, 8]
params: {c: 4}
layers:
  - conv: {out: $c, kernel: 3, padding: 1, bias: false}
  - relu
  - conv: {out: "2 * $c", kernel: 3, stride: 2, padding: 1, bias: false}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def tiny_numbers(c: int, h: int) -> dict[str, int]:
    """conv1 (3 -> c, 3x3, pad 1) keeps h x h; conv2 (c -> 2c, 3x3, stride 2, pad 1) halves it."""
    h2 = (h - 3 + 2) // 2 + 1
    return {"params": 3 * 3 * 3 * c + 3 * 3 * c * 2 * c,
            "macs": h * h * c * 3 * 3 * 3 + h2 * h2 * 2 * c * c * 3 * 3,
            # alive at once: conv1 reads the input and writes its map; relu reads and writes a
            # c x h x h map; conv2 reads one and writes 2c x h2 x h2
            "peak": max(3 * h * h + c * h * h, 2 * c * h * h, c * h * h + 2 * c * h2 * h2)}


def test_grid_is_the_cartesian_product_in_order() -> None:
    configs = grid([("a", [1, 2]), ("b", ["x", "y", "z"])], [(8, 8), (16, 16)])
    assert len(configs) == 2 * 3 * 2
    assert [c.index for c in configs] == list(range(12))
    assert configs[0].set == (("a", 1), ("b", "x")) and configs[0].input == (8, 8)
    assert configs[1].set == (("a", 1), ("b", "y"))
    assert configs[6].input == (16, 16)


def test_random_is_distinct_repeatable_and_within_the_grid() -> None:
    vary = [("a", list(range(10))), ("b", list(range(10)))]
    one, two = sample(vary, [None], 30, seed=7), sample(vary, [None], 30, seed=7)
    assert [c.set for c in one] == [c.set for c in two]
    assert len({c.key() for c in one}) == 30
    everything = {c.key() for c in grid(vary)}
    assert {c.key() for c in one} <= everything
    assert len(sample(vary, [None], 500, seed=1)) == 100  # never more than the grid


def test_shards_partition_the_sweep() -> None:
    configs = grid([("a", list(range(7)))], [None, (8, 8)])
    parts = [shard(configs, i, 3) for i in range(3)]
    assert sorted(c.index for p in parts for c in p) == list(range(14))
    assert all(c.index % 3 == i for i, p in enumerate(parts) for c in p)


def test_rows_are_exact(tiny: str) -> None:
    evaluate = Evaluator(tiny, batch=2, dtype_bytes=4)
    for c, h in ((4, 8), (8, 16), (3, 7)):
        row = evaluate(grid([("c", [c])], [(h, h)])[0])
        expected = tiny_numbers(c, h)
        assert {k: row[k] for k in expected} == expected
        assert row["flops"] == 2 * row["macs"]
        assert row["memory"] == (row["peak"] * 2 + row["params"] + row["buffers"]) * 4
        assert row["rf"] == 3 + (3 - 1) * 1  # two 3x3 convs, the second after stride 1
        assert row["key"] == config_key({"c": c}, (h, h))


def test_a_rejected_configuration_is_a_row_with_its_error(tiny: str) -> None:
    row = Evaluator(tiny)(grid([("c", [0.5])])[0])
    assert row["error"].startswith("E303")
    assert "macs" not in row


def test_parsers_read_exact_suffixes() -> None:
    assert parse_count("2G") == 2 * 10**9
    assert parse_count("10M") == 10 * 10**6
    assert parse_count("1.5K") == 1500
    assert parse_count("4GiB") == 4 * 2**30
    assert parse_count("4Gi") == 4 * 2**30
    assert parse_count("512MB") == 512 * 10**6
    with pytest.raises(ValueError):
        parse_count("1.5")
    assert parse_budget("macs<=2G") == ("macs", 2 * 10**9, None)
    assert parse_budget("memory<=4GiB@batch32") == ("memory", 4 * 2**30, 32)
    assert parse_vary("width=0.5,1,2") == ("width", [0.5, 1, 2])
    assert parse_shard("3/8") == (3, 8)
    for bad in ("macs<2G", "speed<=1", "params<=10M@batch2"):
        with pytest.raises(UsageError):
            parse_budget(bad)
    for bad in ("8/8", "x/2", "-1/2"):
        with pytest.raises(UsageError):
            parse_shard(bad)
    with pytest.raises(UsageError):
        parse_vary("width=1,1")


def test_budgets_and_the_front() -> None:
    rows = [{"index": 0, "macs": 10, "params": 5, "peak": 100, "buffers": 0},
            {"index": 1, "macs": 20, "params": 3, "peak": 100, "buffers": 0},
            {"index": 2, "macs": 20, "params": 6, "peak": 100, "buffers": 0},  # dominated by 0
            {"index": 3, "macs": 5, "params": 9, "peak": 10, "buffers": 0},
            {"index": 4, "error": "E303: ..."}]
    objectives = [Objective("macs"), Objective("params")]
    assert front(rows, objectives, 4) == {0, 1, 3}
    # memory at batch 8: (100 * 8 + 5 + 0) * 4 = 3220 bytes for row 0
    assert within(rows[0], [Budget("memory", 3220, 8)], 4)
    assert not within(rows[0], [Budget("memory", 3219, 8)], 4)
    assert not within(rows[4], [], 4)
    # fewest MACs and most params: row 3 (5 MACs, 9 params) beats every other on both
    assert front(rows, [Objective("macs"), Objective("params", maximize=True)], 4) == {3}


def test_cli_json_rows_budget_and_front(cli, tiny: str) -> None:
    result = cli("sweep", tiny, "--vary", "c=2,4,8", "--input", "8x8", "--input", "16x16",
                 "--budget", "macs<=20K", "--objective", "macs", "--objective", "max:rf",
                 "--format", "json", "-j", "1")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    rows = doc["rows"]
    assert len(rows) == 6 and [r["index"] for r in rows] == list(range(6))
    for r in rows:
        h = r["input"][1]
        assert r["macs"] == tiny_numbers(r["set"]["c"], h)["macs"]
        assert r["within"] == (r["macs"] <= 20_000)
    # rf is 5 everywhere, so the front is the cheapest configuration alone
    assert doc["front"] == [0] and rows[0]["pareto"]


def test_cli_table_and_csv(cli, tiny: str) -> None:
    table = cli("sweep", tiny, "--vary", "c=2,4", "--color", "never", "-j", "1")
    assert table.exit_code == 0
    assert f"{tiny_numbers(4, 8)['macs']:,}" in table.stdout
    csv = cli("sweep", tiny, "--vary", "c=2,4", "--format", "csv", "-j", "1").stdout.splitlines()
    assert csv[0].startswith("index,c,input,params,macs")
    assert csv[2].split(",")[4] == str(tiny_numbers(4, 8)["macs"])


def test_cli_rejected_rows_and_usage_errors(cli, tiny: str) -> None:
    result = cli("sweep", tiny, "--vary", "c=2,0.5", "--format", "json", "-j", "1")
    assert result.exit_code == 0
    assert "1 of 2 configurations rejected" in result.stderr
    assert json.loads(result.stdout)["rows"][1]["error"].startswith("E303")
    for args, text in ((["--vary", "nope=1,2"], "no parameter 'nope'"),
                       (["--vary", "c=1", "--set", "c=2"], "either fixed or varied"),
                       (["--budget", "speed<=1"], "METRIC<=LIMIT"),
                       (["--resume"], "--out")):
        bad = cli("sweep", tiny, *args, "-j", "1")
        assert bad.exit_code == 2, args
        assert text in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("spec, vary, inputs", [
    ("resnet50", [("width", [0.5, 1]), ("depth", [0.5, 1, 1.5])], [None, (3, 96, 96)]),
    ("efficientnet", [("width", [1.0, 1.1]), ("depth", [1.0, 1.4])], [None, (3, 64, 64)]),
    ("resnet-cifar", [("n", [1, 2, 3])], [None, (3, 16, 16)]),
    ("unet", [], [(1, 572, 572), (1, 188, 188)]),  # references (from:, like:) in every stage
    ("inception-v3", [], [None, (3, 331, 331)]),  # a training-only side head
    ("googlenet", [], [None, (3, 160, 160)]),
    ("convnext-tiny", [], [None, (3, 160, 160)]),  # layer norm over channels, layer scale
    ("efficientnet-v2-s", [], [None, (3, 160, 160)]),
])
def test_reuse_across_configurations_changes_no_number(spec: str, vary, inputs) -> None:
    """The memos (block expansions, subtree walks) give every configuration the report a fresh
    load and analysis gives: every row, every diagnostic, the resolved graph."""
    from cnnstat.analysis.pipeline import analyze_loaded
    from cnnstat.core.analyze import Memo as Walks
    from cnnstat.core.memory import peak_elements, schedule
    from cnnstat.spec.memo import Memo
    from cnnstat.spec.loader import build, prepare

    parsed, variant = prepare(spec)
    memo, walks = Memo(), Walks()
    shared = Evaluator(spec).field  # receptive fields reused by spatial layout
    configs = grid(vary, inputs)
    for _ in range(2):  # the second pass is all hits
        for c in configs:
            fresh = analyze_loaded(build(parsed, variant, dict(c.set), c.input))
            reused = analyze_loaded(build(parsed, variant, dict(c.set), c.input, memo=memo),
                                    memo=walks)
            assert reused.rows == fresh.rows
            assert reused.diagnostics == fresh.diagnostics
            assert reused.graph == fresh.graph and reused.outputs == fresh.outputs
            assert peak_elements(reused) == schedule(fresh).peak.alive
            if c.input is None or len(c.input) == 3:
                assert shared(reused) == last_field(fresh)
    assert walks.hits > 0


def test_workers_take_configurations_grouped_in_grid_order() -> None:
    """Each parameter set's input sizes together, the sets in the grid's order (the first
    --vary parameter slowest), every configuration once."""
    from cnnstat.analysis.sweep_run import grouped

    configs = grid([("width", [0.5, 1.0]), ("depth", [2, 1, 3])], [(3, 32, 32), (3, 64, 64)])
    order = grouped(configs)
    assert sorted(c.index for c in order) == list(range(2 * 3 * 2))
    assert [dict(c.set) for c in order[::2]] == [
        {"width": w, "depth": d} for w in (0.5, 1.0) for d in (2, 1, 3)]
    assert all(a.set == b.set and (a.input, b.input) == ((3, 32, 32), (3, 64, 64))
               for a, b in zip(order[::2], order[1::2]))
