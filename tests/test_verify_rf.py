"""`cnnstat verify --receptive-field`: the live input-gradient support of probed units equals the
analytic per-unit rows and lies inside the analytic field, for chains and branching networks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

from cnnstat.analysis import analyze
from cnnstat.core.receptive import FieldRow  # noqa: E402
from cnnstat.spec.loader import load  # noqa: E402
from cnnstat.torch_backend.live.rf_check import check_receptive_field  # noqa: E402

FIXTURES = Path(__file__).parent / "verify_specs"
SPECS = ["conv-example", "lenet5", "resnet-cifar-20", "inception-naive", "squeezenet1-1",
         "shufflenet-v2-x0-5", "mobilenet-v3-small", *(str(p) for p in sorted(FIXTURES.glob("*.yaml")))]


@pytest.mark.parametrize("spec", SPECS)
def test_live_support_equals_the_analytic_rows(spec: str) -> None:
    check = check_receptive_field(analyze(load(spec)))
    assert check is not None and len(check.units) >= 1
    bad = [(u.unit, u.analytic, u.live, u.field) for u in check.units if not u.ok]
    assert bad == []


def test_a_padded_chain_by_hand(tmp_path: Path) -> None:
    """Two 3x3 convs, pad 1, on 8x8: unit (0, 0) reads rows -2..2 unclipped, 0..2 in the input."""
    path = tmp_path / "chain.yaml"
    path.write_text("name: chain\ninput: [1, 8, 8]\nlayers:\n"
                    "  - conv: {out: 2, kernel: 3, padding: 1}\n"
                    "  - conv: {out: 2, kernel: 3, padding: 1}\n", encoding="utf-8")
    check = check_receptive_field(analyze(load(str(path))))
    assert check is not None
    first = check.units[0]
    assert first.unit == (0, 0)
    assert first.field == ((0 - 2, 0 + 2), (-2, 2))          # r = 1 + 2 + 2 = 5, centred on 0
    assert first.live == first.analytic == ((0, 2), (0, 2))  # clipped to the input
    assert [u.unit for u in check.units] == [(0, 0), (7, 7), (0, 7), (7, 0), (4, 4)]


def test_a_wrong_analytic_field_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted mismatch: shift what the analysis claims by one row; the live check must fail."""
    real = FieldRow.seen

    def shifted(self: FieldRow, unit: tuple[int, int]):  # type: ignore[no-untyped-def]
        rows, cols = real(self, unit)
        return ((rows[0] + 1, rows[1] + 1) if rows else None), cols

    monkeypatch.setattr(FieldRow, "seen", shifted)
    check = check_receptive_field(analyze(load("conv-example")))
    assert check is not None and not check.ok


def test_probe_units_are_distinct() -> None:
    fields = check_receptive_field(analyze(load("lenet5")))
    assert fields is not None and len({u.unit for u in fields.units}) == len(fields.units)


def test_cli_flag(cli: Callable) -> None:
    result = cli("verify", "inception-naive", "--receptive-field", "--count", "torch",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    (field,) = doc["receptive_field"]
    assert field["spec"] == "inception-naive" and field["ok"] is True
    centre = field["units"][-1]
    # the 5x5 branch decides the field of the centre unit (14, 14): rows 14 - 2 .. 14 + 2
    assert centre["unit"] == [14, 14] and centre["live"] == [[12, 16], [12, 16]]


def test_cli_fails_on_a_planted_mismatch(cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    real = FieldRow.seen
    monkeypatch.setattr(FieldRow, "seen", lambda self, unit: (None, real(self, unit)[1]))
    result = cli("verify", "conv-example", "--receptive-field", "--count", "torch")
    assert result.exit_code == 1
    assert "the live receptive field of 'conv1' differs" in result.stderr
