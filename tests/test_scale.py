"""cnnstat scale: compound scaling at phi, beside the published variants, to a budget, and the
(alpha, beta, gamma) grid search (issue 18, items 1 and 2)."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest

import cnnstat
from cnnstat.analysis.scaling import grid, multiplier, round_half_up

B0 = {"width": 1.0, "depth": 1.0, "resolution": 224}


def test_multipliers_are_exact_powers() -> None:
    assert multiplier(Fraction("1.2"), Fraction(2)) == Fraction(144, 100)
    assert multiplier(Fraction("1.1"), Fraction(3)) == Fraction(1331, 1000)
    assert multiplier(Fraction("1.15"), Fraction(0)) == 1
    assert round_half_up(Fraction(224) * Fraction("1.15"), 1) == 258  # 257.6
    assert round_half_up(Fraction(515, 2), 1) == 258  # 257.5: half up
    assert round_half_up(Fraction(224) * Fraction("1.15"), 8) == 256


def test_phi_one_is_the_rule_and_b1_beside_it(cli) -> None:
    result = cli("scale", "efficientnet-b0", "--phi", "1", "--format", "json", "--no-rf")
    assert result.exit_code == 0, result.stderr
    rule, b1 = json.loads(result.stdout)["rows"]
    # d = 1.2, w = 1.1, r = 224 * 1.15 = 257.6 -> 258
    assert rule["set"] == {"width": 1.1, "depth": 1.2, "resolution": 258}
    assert (rule["d"], rule["w"], rule["r"]) == (1.2, 1.1, 1.15)
    expected = cnnstat.analyze("efficientnet", set={"width": 1.1, "depth": 1.2,
                                                    "resolution": 258})
    assert rule["macs"] == expected.totals.macs and rule["params"] == expected.totals.params
    published = cnnstat.analyze("efficientnet-b1").totals
    assert b1["variant"] == "b1" and b1["macs"] == published.macs
    assert b1["params"] == 7794184  # torchvision efficientnet_b1 num_params
    # B1 (w 1.0, d 1.1, r 240) departs from the rule in all three knobs
    assert b1["difference"].count("rule ") == 3
    assert math.isclose(b1["equivalent_phi"]["depth"], math.log(1.1) / math.log(1.2))
    assert b1["equivalent_phi"]["width"] == 0


def test_phi_one_to_seven_beside_b1_to_b7(cli) -> None:
    result = cli("scale", "efficientnet-b0", "--phi", "1-7", "--format", "json", "--no-rf")
    rows = json.loads(result.stdout)["rows"]
    assert [r["what"] for r in rows[::2]] == [f"rule phi={i}" for i in range(1, 8)]
    assert [r["variant"] for r in rows[1::2]] == [f"b{i}" for i in range(1, 8)]
    for i, (rule, pub) in enumerate(zip(rows[::2], rows[1::2]), start=1):
        assert rule["set"]["resolution"] == round_half_up(224 * Fraction("1.15") ** i, 1)
        assert pub["difference"] and "rule" in pub["difference"]
    table = cli("scale", "efficientnet-b0", "--table", "--no-rf", "--color", "never")
    assert table.exit_code == 0 and "published b7" in table.stdout


def test_target_finds_the_largest_phi_within_the_budget(cli, tmp_path: Path) -> None:
    out = tmp_path / "scaled.yaml"
    result = cli("scale", "efficientnet-b0", "--target", "macs=2G", "--format", "json",
                 "--no-rf", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    found, over = doc["rows"]
    assert found["macs"] <= 2 * 10**9 < over["macs"]
    assert math.isclose(over["phi"] - found["phi"], 0.01)
    assert doc["phi"] == found["phi"]
    # the written spec is a spec like any other, with the same numbers
    assert cnnstat.analyze(str(out)).totals.macs == found["macs"]
    check = cli("check", str(out))
    assert check.exit_code == 0, check.stderr


def test_target_below_the_base_scales_down(cli) -> None:
    doc = json.loads(cli("scale", "efficientnet-b0", "--target", "params=3M", "--format",
                         "json", "--no-rf").stdout)
    assert doc["phi"] < 0 and doc["rows"][0]["params"] <= 3 * 10**6 < doc["rows"][1]["params"]


def test_search_grid_and_accuracy_join(cli, tmp_path: Path) -> None:
    candidates = grid(Fraction("0.1"), Fraction("0.1"))
    # alpha, beta, gamma in 1.0 .. 2.0 by 0.1, alpha * beta^2 * gamma^2 within 0.1 of 2
    brute = [(a, b, g) for a in range(10, 21) for b in range(10, 21) for g in range(10, 21)
             if abs(Fraction(a * b * b * g * g, 10**5) - 2) <= Fraction(1, 10)]
    assert len(candidates) == len(brute)
    acc = tmp_path / "acc.csv"
    acc.write_text("alpha,beta,gamma,accuracy\n1.2,1.1,1.2,79.1\n1.0,1.1,1.3,78.0\n")
    result = cli("scale", "efficientnet-b0", "--search", "--step", "0.1", "--tolerance", "0.1",
                 "--accuracy", str(acc), "--format", "json", "--no-rf", "-j", "1")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert len(rows) == len(candidates)
    for r in rows:
        assert abs(r["product"] - 2) <= 0.1 + 1e-9
    joined = {(r["alpha"], r["beta"], r["gamma"]): r for r in rows if "accuracy" in r}
    assert set(joined) == {(1.2, 1.1, 1.2), (1.0, 1.1, 1.3)}
    # (1.2, 1.1, 1.2): depth 1.2, width 1.1, resolution 224 * 1.2 = 268.8 -> 269
    paper_like = joined[(1.2, 1.1, 1.2)]
    assert paper_like["set"] == {"width": 1.1, "depth": 1.2, "resolution": 269}
    assert paper_like["macs"] == cnnstat.analyze("efficientnet", set=paper_like["set"]).totals.macs


def test_usage_errors(cli, tmp_path: Path) -> None:
    for args, text in ((["vgg16", "--phi", "1"], "declares no scaling knobs"),
                       (["efficientnet-b0"], "give one of"),
                       (["efficientnet-b0", "--phi", "1", "--search"], "give one of them"),
                       (["efficientnet-b0", "--target", "speed=1"], "METRIC"),
                       (["efficientnet-b0", "--phi", "1,2", "-o", str(tmp_path / "x.yaml")],
                        "one --phi")):
        result = cli("scale", *args)
        assert result.exit_code == 2, args
        assert text in result.stderr and "Traceback" not in result.stderr


@pytest.mark.torch
def test_a_scaled_spec_verifies(cli, tmp_path: Path) -> None:
    out = tmp_path / "small.yaml"
    assert cli("scale", "efficientnet-b0", "--target", "macs=60M", "--no-rf", "--format", "json",
               "-o", str(out)).exit_code == 0
    result = cli("verify", str(out))
    assert result.exit_code == 0, result.stdout + result.stderr
