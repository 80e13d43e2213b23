"""scale: compound scaling of a spec that declares its knobs -- at given phi, beside the
published variants; the largest phi within a budget; the (alpha, beta, gamma) grid search."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from cnnstat.analysis.pareto import Budget, Objective, front
from cnnstat.analysis.scaling import MAX_COEFFICIENT, MAX_PHI, MAX_PHIS
from cnnstat.analysis.sweep import MAX_CONFIGS
from cnnstat.cli.commands.sweep import default_jobs, terminated_as_interrupt
from cnnstat.cli.options import (
    color_option,
    dtype_option,
    format_option,
    jobs_option,
    no_rf_option,
    parse_target,
)
from cnnstat.cli.output import check_output, echo_err, emit, progress
from cnnstat.core.memory import DTYPE_BYTES
from cnnstat.errors import ExitStatus, UsageError


MAX_CHARS = 40  # the longest number an option of scale takes
_EXPONENT = re.compile(r"[eE]([+-]?\d+)\s*$")


def _fraction(option: str, text: str) -> Fraction:
    """``text`` as an exact number (1.2, 1e-3, 6/5); its exponent is checked before it is
    read, so 1e999999999 is refused at once rather than computed as a billion digits."""
    bare = text.strip()
    exponent = _EXPONENT.search(bare)
    value = None
    if len(bare) <= MAX_CHARS and (exponent is None or abs(int(exponent.group(1))) <= 400):
        try:
            value = Fraction(bare)
        except (ValueError, ZeroDivisionError):
            value = None
    if value is None:
        raise UsageError(f"{option} {text!r}: expected a number, e.g. 1.2")
    return value


def _number(text: str) -> Fraction | None:
    """``text`` as a number, or None when it is not one (then it may be a range)."""
    try:
        return _fraction("--phi", text)
    except UsageError:
        return None


def _phi(value: Fraction, text: str) -> Fraction:
    if not -MAX_PHI <= value <= MAX_PHI:
        raise UsageError(f"--phi {text!r}: phi runs from -{MAX_PHI} to {MAX_PHI}",
                         f"at phi = {MAX_PHI} the paper's alpha = 1.2 multiplies the depth by "
                         f"{float(Fraction(6, 5) ** MAX_PHI):,.0f}")
    return value


def _phis(text: str) -> list[Fraction]:
    """'1,2,3' or '1-7' (whole steps) or '1.5' or '-1' or '1e-3': each part read as a number
    first, as a range A-B only when it is not one; every phi within +-MAX_PHI."""
    out: list[Fraction] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        number = _number(part)
        if number is not None:
            out.append(_phi(number, part))
            continue
        lo, dash, hi = part[1:].partition("-")
        lo = part[0] + lo
        if not (dash and hi):
            raise UsageError(f"--phi {part!r}: expected a number, e.g. 1.5, or a range, e.g. 1-7")
        a, b = (_phi(_fraction("--phi", x), part) for x in (lo, hi))
        if a.denominator != 1 or b.denominator != 1 or a > b:
            raise UsageError(f"--phi {part!r}: a range runs over whole numbers, low to high",
                             "e.g. --phi 1-7, or list the values: --phi 1.5,2.5")
        out.extend(Fraction(i) for i in range(int(a), int(b) + 1))
        if len(out) > MAX_PHIS:
            raise UsageError(f"--phi {text!r}: more than {MAX_PHIS} values")
    if not out:
        raise UsageError("--phi: give a value, a list (1,2,3) or a range (1-7)")
    return out


@click.command()
@click.argument("spec")
@click.option("--phi", "phi_text", metavar="PHI[,PHI...]|A-B",
              help="The compound coefficient(s): 1, 1.5, 1,2,3 or 1-7.")
@click.option("--table", "published", is_flag=True,
              help="phi = 1 ... for every published variant the spec lists, beside it.")
@click.option("--target", "target_text", metavar="METRIC=LIMIT[,...]",
              help="The largest phi (0.01 steps) within macs=2G, params=10M, "
              "memory=4GiB@batch32, ...")
@click.option("--alpha", default="1.2", show_default=True, help="Depth coefficient.")
@click.option("--beta", default="1.1", show_default=True, help="Width coefficient.")
@click.option("--gamma", default="1.15", show_default=True, help="Resolution coefficient.")
@click.option("--search", is_flag=True,
              help="Grid search over alpha, beta, gamma with alpha*beta^2*gamma^2 ~ 2, at phi = 1.")
@click.option("--step", default="0.05", show_default=True, help="--search: the grid step.")
@click.option("--tolerance", default="0.1", show_default=True,
              help="--search: |alpha*beta^2*gamma^2 - 2| at most this.")
@click.option("--accuracy", "accuracy_file", type=click.Path(dir_okay=False, path_type=Path),
              help="--search: a CSV alpha,beta,gamma,accuracy of measured accuracies to join.")
@dtype_option("Bytes per element of memory budgets.")
@no_rf_option
@jobs_option
@click.option("-o", "--output", metavar="FILE",
              help="Write the scaled spec (one phi, or the --target answer) to this YAML file.")
@format_option()
@color_option
def scale(spec: str, phi_text: str | None, published: bool, target_text: str | None,
          alpha: str, beta: str, gamma: str, search: bool, step: str, tolerance: str,
          accuracy_file: Path | None, dtype: str, no_rf: bool, jobs: int | None,
          output: str | None, fmt: str, color: str) -> ExitStatus:
    """Compound scaling of SPEC (its 'scaling:' knobs): d = alpha^phi, w = beta^phi,
    r = gamma^phi.

    \b
    cnnstat scale efficientnet-b0 --phi 1-7          # the rule beside B1..B7 as published
    cnnstat scale efficientnet-b0 --target macs=2G -o b-2g.yaml
    cnnstat scale efficientnet-b0 --search --accuracy measured.csv
    """
    from cnnstat.analysis.scaling import Scaler

    modes = [m for m, on in (("--phi", phi_text), ("--table", published),
                             ("--target", target_text), ("--search", search)) if on]
    if len(modes) != 1:
        raise UsageError("give one of --phi, --table, --target and --search" if not modes
                         else f"{' and '.join(modes)}: give one of them")
    coefficients = tuple(_fraction(f"--{n}", v) for n, v in
                         (("alpha", alpha), ("beta", beta), ("gamma", gamma)))
    if any(not 0 < c <= MAX_COEFFICIENT for c in coefficients):
        raise UsageError(f"--alpha, --beta and --gamma must be positive and at most "
                         f"{MAX_COEFFICIENT}", "the paper's are 1.2, 1.1 and 1.15")
    if output is not None and (published or search):
        raise UsageError("-o writes one scaled spec: give it with --phi or --target")
    check_output(output, specs=[spec], files=[accuracy_file] if accuracy_file else [])
    scaler = Scaler(spec, coefficients, rf=not no_rf)
    if search:
        return _search(spec, scaler, step, tolerance, accuracy_file, jobs, fmt, color)
    if target_text is not None:
        return _target(spec, scaler, target_text, dtype, output, fmt, color)
    phis = _phis(phi_text) if phi_text else \
        [Fraction(i) for i in range(1, len(scaler.knobs.variants))]
    if not phis:
        raise UsageError(f"{spec}: its scaling section lists no published variants",
                         "give --phi")
    if output is not None and len(phis) != 1:
        raise UsageError("-o writes one scaled spec: give one --phi")
    return _show_phis(spec, scaler, phis, output, fmt, color)


def _show_phis(spec: str, scaler: Any, phis: list[Fraction], output: str | None, fmt: str,
               color: str) -> ExitStatus:
    from cnnstat.views import scale as view

    with progress(len(phis), show=True, doing="analysing", done="phi") as advance:
        rows = []
        for phi in phis:
            rows.extend(view.entries(scaler, [phi]))
            advance(f"{float(phi):g}")
    if output is not None:
        _write(scaler, scaler.at(phis[0]), output)
    emit(fmt, color, lambda: view.document(spec, scaler, rows),
         lambda: [view.table(spec, scaler, rows)])
    return ExitStatus.OK


def _write(scaler: Any, scaled: Any, output: str) -> None:
    from cnnstat.analysis import outputs
    from cnnstat.analysis.scaling import scaled_spec

    coef = f"alpha={float(scaler.alpha):g}, beta={float(scaler.beta):g}, " \
           f"gamma={float(scaler.gamma):g}"
    text = scaled_spec(scaler.evaluate.parsed, scaler.evaluate.variant, scaled, coef)
    outputs.write_text(output, text)
    echo_err(f"cnnstat: wrote {output} (phi = {float(scaled.phi):g})")


def _target(spec: str, scaler: Any, target_text: str, dtype: str, output: str | None,
            fmt: str, color: str) -> ExitStatus:
    from cnnstat.views import scale as view

    budgets = [Budget(*b, text=f"{b[0]}<={b[1]:,}" + (f"@batch{b[2]}" if b[2] else ""))
               for b in parse_target(target_text)]
    with progress(20, show=True, doing="searching phi", done="analysed") as advance:
        scaled, row, over = scaler.largest_phi(budgets, DTYPE_BYTES[dtype], lambda: advance(""))
    rows = [view.rule_entry(scaler, scaled, row)]
    if over is not None:
        nxt = scaler.at(scaled.phi + Fraction(1, 100))
        rows.append({**view.rule_entry(scaler, nxt, over), "what": f"over: phi={float(nxt.phi):g}"})
    notes = [f"the largest phi on a 0.01 grid within {', '.join(b.text for b in budgets)}: "
             f"{float(scaled.phi):g} (the next step is over the budget)"]
    if output is not None:
        _write(scaler, scaled, output)
    emit(fmt, color, lambda: view.document(spec, scaler, rows, {
             "target": [{"metric": b.metric, "limit": b.limit, "batch": b.batch}
                        for b in budgets], "phi": float(scaled.phi)}),
         lambda: [view.table(spec, scaler, rows, notes=notes)])
    return ExitStatus.OK


def _search(spec: str, scaler: Any, step_text: str, tolerance_text: str,
            accuracy_file: Path | None, jobs: int | None, fmt: str, color: str) -> ExitStatus:
    from cnnstat.analysis import sweep_run
    from cnnstat.analysis.scaling import grid, read_accuracies
    from cnnstat.analysis.sweep import Config
    from cnnstat.views import scale as view

    step, tolerance = _fraction("--step", step_text), _fraction("--tolerance", tolerance_text)
    if step <= 0 or tolerance < 0:
        raise UsageError("--step must be positive and --tolerance not negative")
    accuracies = {}
    if accuracy_file is not None:
        text = _read_csv(str(accuracy_file))
        accuracies = read_accuracies(text, str(accuracy_file))
    candidates = grid(step, tolerance)
    if len(candidates) > MAX_CONFIGS:
        raise UsageError(f"{len(candidates):,} (alpha, beta, gamma) candidates, more than "
                         f"{MAX_CONFIGS:,}", "a coarser --step or a smaller --tolerance")
    if not candidates:
        raise UsageError("no (alpha, beta, gamma) on the grid within the tolerance",
                         "a finer --step or a larger --tolerance")
    one = Fraction(1)
    configs = [Config(i, tuple(scaler.at(one, c).set.items()), scaler.at(one, c).input)
               for i, c in enumerate(candidates)]
    with terminated_as_interrupt(), \
            progress(len(configs), show=True, doing="analysing", done="analysed") as advance:
        rows = []
        for row in sweep_run.rows(scaler.evaluate, configs, jobs=jobs or default_jobs()):
            rows.append(row)
            advance("")
    out: list[dict[str, Any]] = []
    for (a, b, g), row in zip(candidates, rows):
        entry: dict[str, Any] = {"alpha": float(a), "beta": float(b), "gamma": float(g),
                 "product": float(a * b * b * g * g), "set": row["set"],
                 **{k: row[k] for k in ("params", "macs", "peak", "rf", "error") if k in row}}
        if (a, b, g) in accuracies:
            entry["accuracy"] = accuracies[(a, b, g)]
        entry["index"] = len(out)
        out.append(entry)
    objectives = [Objective("macs"), Objective("accuracy", True)] if accuracies else []
    on_front = front([e for e in out if "accuracy" in e], objectives, 4) if objectives else set()
    for e in out:
        e["pareto"] = e["index"] in on_front
    unmatched = len(accuracies) - sum(1 for e in out if "accuracy" in e)
    if unmatched:
        echo_err(f"cnnstat: scale: {unmatched} accuracy rows match no grid point")
    notes = [f"{len(out)} candidates: alpha, beta, gamma in 1, 1 + {float(step):g}, ... with "
             f"|alpha*beta^2*gamma^2 - 2| <= {float(tolerance):g}; numbers at phi = 1",
             "front: fewest MACs and highest accuracy, among the rows with an accuracy"
             if accuracies else "no --accuracy: accuracy is the user's to measure and join"]
    emit(fmt, color, lambda: view.document(spec, scaler, out, {"search": {
             "step": float(step), "tolerance": float(tolerance), "target": 2}}),
         lambda: [view.search_table(spec, out, notes)])
    return ExitStatus.OK


MAX_CSV_BYTES = 64 * 2**20  # an accuracy for each of 101^3 grid points is about 40 MB


def _read_csv(path: str) -> str:
    """The --accuracy file, read as every input is (a regular file, at most MAX_CSV_BYTES)."""
    from cnnstat.spec.reading import read_file

    raw = read_file(path, MAX_CSV_BYTES)
    if len(raw) > MAX_CSV_BYTES:
        raise UsageError(f"{path}: larger than {MAX_CSV_BYTES // 2**20} MiB, too large for "
                         "--accuracy")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a CSV file (not UTF-8: {exc.reason})") from None
