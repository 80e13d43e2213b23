"""Properties of the tensor-taking and recursive blocks (issue 28, sections 1 and 2).

A chain of depthwise-separable blocks written with ``$in.channels`` is the chain written with the
input width threaded through every call by hand (the same rows, number for number); random
recursive trees, looped branches and depthwise blocks, built as live modules, agree with their
analytic rows (shapes, parameters, FlopCounterMode, fvcore)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstat import analysis

SHAPE_AWARE = {
    "sep": {"args": {"out": "required", "stride": 1}, "layers": [
        {"conv": {"out": "$in.channels", "kernel": 3, "stride": "$stride", "padding": 1,
                  "groups": "$in.channels", "bias": False}},
        "bn", "relu",
        {"conv": {"out": "$out", "kernel": 1, "bias": False}}, "bn", "relu"]}}
THREADED = {
    "sep": {"args": {"inp": "required", "out": "required", "stride": 1}, "layers": [
        {"conv": {"out": "$inp", "kernel": 3, "stride": "$stride", "padding": 1,
                  "groups": "$inp", "bias": False}},
        "bn", "relu",
        {"conv": {"out": "$out", "kernel": 1, "bias": False}}, "bn", "relu"]}}


def analysed(spec: dict[str, Any]) -> analysis.Analysed:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        return analysis.run(str(path))


chains = st.lists(st.tuples(st.integers(1, 24), st.sampled_from([1, 2])), min_size=1,
                  max_size=6)


@given(chains, st.integers(1, 8), st.integers(4, 20))
def test_in_channels_is_the_threaded_width(chain: list[tuple[int, int]], c: int,
                                           size: int) -> None:
    widths = [c, *(out for out, _ in chain)]
    own = {"name": "p", "input": [c, size, size], "blocks": SHAPE_AWARE,
           "layers": [{"sep": {"out": out, "stride": s}} for out, s in chain]}
    threaded = {"name": "p", "input": [c, size, size], "blocks": THREADED,
                "layers": [{"sep": {"inp": widths[i], "out": out, "stride": s}}
                           for i, (out, s) in enumerate(chain)]}
    a, b = analysed(own).report, analysed(threaded).report
    assert a.rows == b.rows
    assert a.totals.params == sum(w * 3 * 3 + 2 * w + w * out + 2 * out
                                  for w, out in zip(widths, widths[1:]))


@st.composite
def networks(draw: st.DrawFn) -> dict[str, Any]:
    """A stem, a recursive tree of random depth handing its convs to its leaves, looped branches
    read back by a generated concat, and depthwise blocks that read their input's width."""
    levels = draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    width = draw(st.integers(1, 6))
    blocks = {
        "dw": {"layers": [{"conv": {"out": "$in.channels", "kernel": 3, "padding": 1,
                                    "groups": "$in.channels"}}, "relu"]},
        "tree": {"args": {"levels": "required", "children": []}, "layers": [
            {"conv": {"out": width, "kernel": 1, "name": "a"}},
            {"dw": {"name": "d"}},
            {"concat": {"from": ["$in", "d", "$children"], "if": "$levels == 1"}},
            {"tree": {"levels": "$levels - 1", "children": ["$children", "a"],
                      "if": "$levels > 1"}},
            {"tree": {"levels": "$levels - 1", "if": "$levels > 1"}}]},
    }
    layers = [
        {"conv": {"out": draw(st.integers(1, 6)), "kernel": 3, "padding": 1, "name": "stem"}},
        {"tree": {"levels": levels}},
        {"repeat": n, "index": "i", "name": "b$i", "from": "stem",
         "layers": [{"conv": {"out": "$i + 1", "kernel": 1}}, {"dw": None}]},
        {"concat": {"from": [{"repeat": n, "index": "j", "from": "b$j"}, "tree1"]}},
        {"dw": None},
    ]
    return {"name": "p", "input": [draw(st.integers(1, 4)), 6, 6], "blocks": blocks,
            "layers": layers}


@pytest.mark.torch
@pytest.mark.usefixtures("torch_one_thread")
@settings(max_examples=15)
@given(networks())
def test_random_trees_and_loops_equal_the_live_module(spec: dict[str, Any]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from cnnstat.torch_backend.verify import verify_report

    result = verify_report(analysed(spec).report, ("torch", "fvcore"))
    assert result.ok, (spec, result.first_divergence)
