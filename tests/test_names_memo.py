"""The unique-name check kept across a sweep's configurations (``Memo.names``): a sequence of
(name, what) that passed is not checked again, and a graph that fails is rejected every time,
with the same located E208 as without the memo."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnstat.core.ir import Layer, Seq
from cnnstat.errors import SpecError
from cnnstat.spec.memo import Memo
from cnnstat.spec.loader import build, prepare
from cnnstat.spec.names import check_unique


def _graph(*names: str, width: int = 4) -> Seq:
    return Seq(tuple(Layer(n, "conv", {"out": width}, ("layers", i)) for i, n in enumerate(names)))


def _e208(graph: Seq, passed: set[tuple[tuple[str, str], ...]] | None) -> tuple[str, str, object]:
    with pytest.raises(SpecError) as caught:
        check_unique(graph, passed)
    (d,) = caught.value.diagnostics
    return d.code, d.message, d.path


def test_a_failing_graph_is_rejected_after_one_of_the_same_structure_passed() -> None:
    passed: set[tuple[tuple[str, str], ...]] = set()
    check_unique(_graph("a", "b", width=4), passed)
    assert passed == {(("a", "layer"), ("b", "layer"))}
    check_unique(_graph("a", "b", width=8), passed)  # the same names: not checked again
    assert len(passed) == 1
    dup = _graph("a", "a", width=8)  # one name changed: a duplicate
    alone = _e208(dup, None)
    assert alone == ("E208", "duplicate layer name 'a'", ("layers", 1, "name"))
    assert _e208(dup, passed) == alone
    assert _e208(dup, passed) == alone  # a failure is never remembered
    assert len(passed) == 1


def test_a_layer_that_is_also_a_scope_is_rejected_with_the_memo() -> None:
    passed: set[tuple[tuple[str, str], ...]] = set()
    check_unique(_graph("a", "b"), passed)
    clash = _graph("a", "a.b")
    assert _e208(clash, passed) == _e208(clash, None)
    assert _e208(clash, passed)[1] == "'a' is both a layer and the scope of 'a.b'"


def test_a_sweep_checks_each_structure_once(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("name: net\ninput: [3, 8, 8]\nparams: {c: 4, d: 1}\nlayers:\n"
                    "  - repeat: $d\n    layers: [conv: {out: $c, kernel: 3, padding: 1}, relu]\n")
    parsed, variant = prepare(str(spec))
    memo = Memo()
    kept = []
    for c, d in ((4, 1), (8, 1), (16, 1), (4, 2)):
        build(parsed, variant, {"c": c, "d": d}, memo=memo)
        kept.append(len(memo.names))
    # widths 4, 8, 16 at depth 1 share one sequence of names; depth 2 adds a second
    assert kept == [1, 1, 1, 2]
    one = (("conv1", "layer"), ("relu1", "layer"))
    assert memo.names == {one, one + (("conv2", "layer"), ("relu2", "layer"))}
