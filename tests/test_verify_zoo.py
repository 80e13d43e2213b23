"""Every built-in spec, present and future, verified live: shapes, parameters, buffers and
FlopCounterMode FLOPs at the spec's own input on the meta device; fvcore (which needs real
tensors) at the smallest input the spec accepts, to keep the file fast on two cores (the counts
are exact at any input, so a small one proves the fvcore preset as well as a large one)."""

from __future__ import annotations

import pytest

from cnnstat import zoo
from cnnstat.core.report import Report
from cnnstat.errors import SpecError
from cnnstat.spec import loader

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.torch_backend.verify.results import VerifyResult  # noqa: E402
from cnnstat.torch_backend.verify.crosscheck import verify_report  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


SMALL = (8, 16, 32, 64, 96, 128, 160)


def _failure(result: VerifyResult) -> str:
    first = result.first_divergence
    if first is not None:
        return f"first divergent layer {first.name}: " + ", ".join(
            f"{k} {first.checks[k].analytic} vs live {first.checks[k].live}"
            for k in first.diverging())
    return f"totals: {result.totals}"


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_spec_verifies_on_meta(name: str) -> None:
    result = verify_report(analyze(loader.load(name)), ("torch",), "meta")
    assert result.device == "meta"
    assert result.ok, _failure(result)


def small_report(name: str) -> Report:
    """The spec at the smallest square input it accepts (its own input if none is smaller)."""
    full = loader.load(name)
    if len(full.input_shape) != 3:
        return analyze(full)
    for side in SMALL:
        if side >= max(full.input_shape[1:]):
            break
        try:
            return analyze(loader.load(name, None, (side, side)))
        except SpecError:
            continue
    return analyze(full)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_spec_verifies_with_fvcore(name: str) -> None:
    result = verify_report(small_report(name), ("fvcore",), "meta")
    assert result.device == "cpu"  # fvcore alone: one pass on real tensors, shapes included
    assert result.ok, _failure(result)
