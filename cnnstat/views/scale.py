"""What ``cnnstat scale`` shows: the rule's networks at each phi, beside the published variants
with every difference explained, the largest phi within a budget, and the (alpha, beta, gamma)
grid search."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from cnnstat.analysis.scaling import Scaled, Scaler, equivalent_phi
from cnnstat.analysis.sweep import Config, Row
from cnnstat.render.jsonfmt import header as doc_header
from cnnstat.render.table import Column, Table
from cnnstat.views.sweep import CONVENTIONS

RULE = ("compound scaling (Tan & Le 2019, eq. 3): depth d = alpha^phi, width w = beta^phi, "
        "resolution r = gamma^phi from the base; multipliers rounded to 12 decimals, the "
        "network's own expressions round channels and repeats, the resolution is base x r "
        "rounded half up to the spec's resolution_multiple")


def _f(x: Fraction | float) -> str:
    return f"{float(x):.4g}"


def _numbers(row: Row) -> dict[str, Any]:
    keys = ("params", "macs", "flops", "peak", "memory", "rf", "error")
    return {k: row[k] for k in keys if k in row}


def rule_entry(scaler: Scaler, s: Scaled, row: Row) -> dict[str, Any]:
    return {"what": f"rule phi={_f(s.phi)}", "phi": float(s.phi), "d": float(s.d),
            "w": float(s.w), "r": float(s.r), "set": s.set,
            "input": list(row["input"]) if row.get("input") else None, **_numbers(row)}


def published_entry(scaler: Scaler, phi: int, rule: dict[str, Any]) -> dict[str, Any] | None:
    """The published variant at ``phi`` beside the rule, with what differs and why."""
    found = scaler.published(phi)
    if found is None:
        return None
    key, values = found
    row = scaler.evaluate(Config(0, tuple(values.items()), None))
    k = scaler.knobs
    parts, eq, multipliers = [], {}, {}
    for knob, coefficient, multiplier in (("depth", scaler.alpha, rule["d"]),
                                          ("width", scaler.beta, rule["w"]),
                                          ("resolution", scaler.gamma, rule["r"])):
        name = getattr(k, knob)
        if not name:
            continue
        value = Fraction(str(values[name]))
        ruled = Fraction(str(rule["set"][name]))
        e = equivalent_phi(value, k.base[name], coefficient)
        eq[knob] = e
        multipliers[knob[0]] = float(value / k.base[name])
        if value != ruled:
            parts.append(f"{knob} {_f(value)} (rule {_f(ruled)}; the rule's {knob} at phi "
                         f"{e:.2f})" if e is not None else f"{knob} {_f(value)} (rule {_f(ruled)})")
    macs = row.get("macs")
    ratio = (f"; MACs {100 * (macs / rule['macs'] - 1):+.1f}% against the rule"
             if isinstance(macs, int) and rule.get("macs") else "")
    why = ("rounded, hand-picked multipliers, not one phi: " + ", ".join(parts) + ratio) \
        if parts else "the rule's network"
    return {"what": f"published {key}", "phi": phi, "variant": key, "set": values, **multipliers,
            "input": list(row["input"]) if row.get("input") else None,
            "equivalent_phi": eq, **_numbers(row), "difference": why}


def entries(scaler: Scaler, phis: Sequence[Fraction]) -> list[dict[str, Any]]:
    out = []
    for phi in phis:
        s = scaler.at(phi)
        rule = rule_entry(scaler, s, scaler.row(s))
        out.append(rule)
        if phi.denominator == 1:
            pub = published_entry(scaler, int(phi), rule)
            if pub is not None:
                out.append(pub)
    return out


def _cells(e: dict[str, Any]) -> dict[str, Any]:
    rf = e.get("rf")
    return {**e, **{f"set:{k}": v for k, v in e["set"].items()},
            "input": "x".join(map(str, e["input"])) if e.get("input") else "",
            "d": _f(e["d"]) if "d" in e else "", "w": _f(e["w"]) if "w" in e else "",
            "r": _f(e["r"]) if "r" in e else "",
            "rf": "x".join(map(str, rf)) if isinstance(rf, list) else rf}


def table(spec: str, scaler: Scaler, rows: Sequence[dict[str, Any]], title: str = "",
          notes: Sequence[str] = ()) -> Table:
    knobs = list(scaler.knobs.base)
    cols = [Column("what", "configuration"), Column("d", "d"), Column("w", "w"),
            Column("r", "r"), *(Column(f"set:{k}", k) for k in knobs), Column("input", "input"),
            Column("params", "params", "count"), Column("macs", "MACs", "count"),
            Column("peak", "peak act.", "count"), Column("rf", "RF")]
    if any("difference" in r for r in rows):
        cols.append(Column("difference", "difference from the rule"))
    if any("error" in r for r in rows):
        cols.append(Column("error", "error"))
    coef = f"alpha={_f(scaler.alpha)}, beta={_f(scaler.beta)}, gamma={_f(scaler.gamma)}"
    return Table(title or f"compound scaling of {spec} ({coef})", cols,
                 [_cells(r) for r in rows], notes=[*notes, RULE, CONVENTIONS["per_image"]])


def document(spec: str, scaler: Scaler, rows: Sequence[dict[str, Any]],
             extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**doc_header("scale"), "spec": spec,
            "coefficients": {"alpha": float(scaler.alpha), "beta": float(scaler.beta),
                             "gamma": float(scaler.gamma)},
            "rule": RULE, "conventions": CONVENTIONS, **(extra or {}), "rows": list(rows)}


def search_table(spec: str, rows: Sequence[dict[str, Any]], notes: Sequence[str]) -> Table:
    cols = [Column("alpha", "alpha", "real"), Column("beta", "beta", "real"),
            Column("gamma", "gamma", "real"), Column("product", "a*b^2*g^2", "real"),
            Column("params", "params", "count"), Column("macs", "MACs", "count"),
            Column("peak", "peak act.", "count"), Column("rf", "RF")]
    if any("accuracy" in r for r in rows):
        cols.append(Column("accuracy", "accuracy", "real"))
    cols.append(Column("front", "front"))
    body = [{**r, "rf": "x".join(map(str, r["rf"])) if isinstance(r.get("rf"), list)
             else r.get("rf"), "front": "*" if r.get("pareto") else ""} for r in rows]
    return Table(f"compound-scaling search for {spec} at phi = 1", cols, body, notes=list(notes))
