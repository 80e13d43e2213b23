"""Compound scaling (Tan & Le 2019, EfficientNet, eq. 3): depth d = alpha^phi, width
w = beta^phi, resolution r = gamma^phi, applied to a spec that declares its knobs (``scaling:``).

* The multipliers are computed exactly from the decimal coefficients for a whole phi, then
  rounded to :data:`DECIMALS` decimal places (exact for the paper's 1.2 / 1.1 / 1.15 up to
  phi = 6 for all three, and for depth and width well beyond); a fractional phi uses the float
  power, rounded the same way.  They multiply the base's width and depth parameters; the
  network's own expressions round them (EfficientNet: ``make_divisible(c * w, 8)``,
  ``ceil(n * d)``).
* The resolution is ``base * r`` rounded half up to the spec's ``resolution_multiple`` (default
  1: the nearest pixel) -- the rule fixes no rounding of its own.  A spec without a resolution
  parameter has its input's H and W scaled through ``--input``.
* ``largest_phi`` searches phi on a grid of :data:`STEP` (0.01): doubling, then bisection, with
  an exact analysis at every step; it assumes the cost grows with phi (the rounding can make it
  step, never fall by much), and the answer is analysed again before it is shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from cnnstat.analysis.pareto import Budget, within
from cnnstat.analysis.sweep import Config, Evaluator, Row
from cnnstat.errors import UsageError

PAPER = (Fraction("1.2"), Fraction("1.1"), Fraction("1.15"))  # alpha, beta, gamma
DECIMALS = 12
STEP = Fraction(1, 100)
MAX_PHI = 64  # |phi| at most: 1.2^64 is a depth multiplier of 116,000
MAX_PHIS = 1000  # phi values in one --phi
MAX_COEFFICIENT = 10  # alpha, beta, gamma at most (10^64 at phi = 64 is still exact)
MAX_STEPS = 100  # grid steps from 1 to 2 in the search (a step of 0.01): 101^3 points at most


def multiplier(coefficient: Fraction, phi: Fraction) -> Fraction:
    """``coefficient ** phi`` rounded to :data:`DECIMALS` decimals (exact for a whole phi)."""
    if phi.denominator == 1:
        return round(coefficient ** int(phi), DECIMALS)
    return Fraction(f"{float(coefficient) ** float(phi):.{DECIMALS}f}")


def round_half_up(x: Fraction, multiple: int) -> int:
    return int(math.floor(x / multiple + Fraction(1, 2))) * multiple


@dataclass(frozen=True)
class Knobs:
    """A spec's scaling knobs and the base values they scale from."""

    width: str | None
    depth: str | None
    resolution: str | None
    multiple: int
    base: dict[str, Fraction]  # parameter -> its value in the base configuration
    base_input: tuple[int, ...]
    variants: tuple[str, ...]  # the published variants, phi = 0, 1, 2, ...


@dataclass(frozen=True)
class Scaled:
    """One configuration under the rule: phi, the multipliers and what they set."""

    phi: Fraction
    d: Fraction
    w: Fraction
    r: Fraction
    set: dict[str, object]
    input: tuple[int, ...] | None


class Scaler:
    """Scales one spec (read once) and analyses the results exactly."""

    def __init__(self, spec: str, coefficients: Sequence[Fraction] = PAPER,
                 rf: bool = True) -> None:
        from cnnstat.spec.loader import build

        self.spec = spec
        self.evaluate = Evaluator(spec, rf=rf)
        parsed, variant = self.evaluate.parsed, self.evaluate.variant
        scaling = parsed.model.scaling
        if scaling is None:
            raise UsageError(f"{spec}: the spec declares no scaling knobs",
                             "add a 'scaling:' section naming its width, depth and resolution "
                             "parameters (see docs/design-space.md, 'Scaling knobs')")
        base = build(parsed, variant)
        self.alpha, self.beta, self.gamma = coefficients
        names = [n for n in (scaling.width, scaling.depth, scaling.resolution) if n]
        self.knobs = Knobs(scaling.width, scaling.depth, scaling.resolution,
                           scaling.resolution_multiple,
                           {n: Fraction(str(base.env[n])) for n in names},
                           base.input_shape, tuple(scaling.variants))

    def at(self, phi: Fraction, coefficients: Sequence[Fraction] | None = None) -> Scaled:
        """The rule at ``phi``: d = alpha^phi, w = beta^phi, r = gamma^phi (the scaler's
        coefficients, or ``coefficients``)."""
        k = self.knobs
        d, w, r = (multiplier(c, phi)
                   for c in (coefficients or (self.alpha, self.beta, self.gamma)))
        values: dict[str, object] = {}
        if k.width:
            values[k.width] = _number(k.base[k.width] * w)
        if k.depth:
            values[k.depth] = _number(k.base[k.depth] * d)
        shape: tuple[int, ...] | None = None
        if k.resolution:
            values[k.resolution] = round_half_up(k.base[k.resolution] * r, k.multiple)
        elif len(k.base_input) == 3:
            shape = (k.base_input[0], *(round_half_up(s * r, k.multiple)
                                        for s in k.base_input[1:]))
        return Scaled(phi, d, w, r, values, shape)

    def row(self, scaled: Scaled) -> Row:
        """The exact numbers of a scaled configuration (as ``cnnstat sweep`` gives them)."""
        return self.evaluate(Config(0, tuple(scaled.set.items()), scaled.input))

    def published(self, phi: int) -> tuple[str, dict[str, object]] | None:
        """(variant, its values of the knobs) for the published variant at ``phi``."""
        if not 0 <= phi < len(self.knobs.variants):
            return None
        key = self.knobs.variants[phi]
        chosen = self.evaluate.parsed.model.variants[key]
        values: dict[str, object] = {n: chosen.set.get(n, self.evaluate.parsed.model.params.get(n))
                  for n in self.knobs.base}
        return key, values

    def largest_phi(self, budgets: Sequence[Budget], dtype_bytes: int,
                    progress: Callable[[], Any] = lambda: None) -> tuple[Scaled, Row, Row | None]:
        """The largest phi on the :data:`STEP` grid within every budget, its row, and the row
        of the next step (over the budget); UsageError when even phi = -MAX_PHI is over."""
        cache: dict[Fraction, Row] = {}

        def ok(phi: Fraction) -> bool:
            if phi not in cache:
                cache[phi] = self.row(self.at(phi))
                progress()
            if cache[phi].get("error"):
                raise _out_of_reach(phi, cache[phi]["error"], budgets)
            return within(cache[phi], budgets, dtype_bytes)

        lo, hi = _bracket(ok)
        while hi - lo > STEP:  # ok(lo), not ok(hi)
            mid = lo + (hi - lo) / STEP // 2 * STEP
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return self.at(lo), cache[lo], cache.get(hi)


def _out_of_reach(phi: Fraction, error: str, budgets: Sequence[Budget]) -> UsageError:
    """A phi the spec rejects, met before the budget's edge: the limit is out of the spec's
    reach (a configuration the spec rejects is not "over the budget")."""
    limits = ", ".join(b.text for b in budgets)
    way = "smaller" if phi > 0 else "larger"
    return UsageError(f"--target {limits}: out of the spec's reach: the spec rejects phi = "
                      f"{float(phi):g} ({error}) before the budget's edge",
                      f"give a {way} limit")


def _bracket(ok: Callable[[Fraction], bool]) -> tuple[Fraction, Fraction]:
    """(lo, hi) with ok(lo) and not ok(hi), by doubling away from phi = 0."""
    step = Fraction(1)
    if ok(Fraction(0)):
        lo = Fraction(0)
        while ok(lo + step):
            lo += step
            step *= 2
            if lo > MAX_PHI:
                raise UsageError(f"the budget holds beyond phi = {MAX_PHI}",
                                 "give a tighter --target")
        return lo, lo + step
    hi = Fraction(0)
    while not ok(hi - step):
        hi -= step
        step *= 2
        if hi < -MAX_PHI:
            raise UsageError(f"the budget is not met even at phi = -{MAX_PHI}",
                             "give a looser --target")
    return hi - step, hi


def _number(x: Fraction) -> object:
    """An int when whole, else a float whose decimal text is exactly ``x`` (the loader reads a
    float as the fraction of its text), else the expression ``=p/q``."""
    if x.denominator == 1:
        return int(x)
    as_float = float(x)
    return as_float if Fraction(repr(as_float)) == x else f"={x.numerator}/{x.denominator}"


def equivalent_phi(value: Fraction, base: Fraction, coefficient: Fraction) -> float | None:
    """The phi at which the rule gives ``value`` (log(value / base) / log(coefficient))."""
    if value <= 0 or base <= 0 or coefficient == 1:
        return None
    return math.log(value / base) / math.log(coefficient)


def grid(step: Fraction, tolerance: Fraction, target: Fraction = Fraction(2),
         upper: Fraction = Fraction(2)) -> list[tuple[Fraction, Fraction, Fraction]]:
    """The paper's search space: alpha, beta, gamma >= 1 on a grid of ``step`` (each at most
    ``upper``) with |alpha * beta^2 * gamma^2 - target| <= tolerance, in order.  At most
    :data:`MAX_STEPS` steps (UsageError beyond); the test is exact, in integers: with
    ``step = p/q`` each value is ``(q + i*p)/q``."""
    n = int((upper - 1) / step)
    if n > MAX_STEPS:
        raise UsageError(f"--step {float(step):g}: {n:,} steps from 1 to {float(upper):g}, more "
                         f"than {MAX_STEPS}", f"give --step {float((upper - 1) / MAX_STEPS):g} "
                         "or more")
    p, q = step.numerator, step.denominator
    scaled = [q + i * p for i in range(n + 1)]  # value * q
    # |x / q^5 - target| <= tolerance, with x = a * b^2 * g^2 scaled by q^5, in integers
    k = target.denominator * tolerance.denominator
    centre, radius = target.numerator * tolerance.denominator, tolerance.numerator * \
        target.denominator
    q5 = q ** 5
    values = [Fraction(v, q) for v in scaled]
    return [(values[i], values[j], values[m])
            for i, a in enumerate(scaled) for j, b in enumerate(scaled)
            for m, g in enumerate(scaled)
            if abs(a * b * b * g * g * k - centre * q5) <= radius * q5]


def read_accuracies(text: str, name: str) -> dict[tuple[Fraction, Fraction, Fraction], float]:
    """A CSV with the columns alpha, beta, gamma and accuracy (a header line; other columns are
    ignored) -> accuracy by coefficients, read exactly from their decimal text."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    need = {"alpha", "beta", "gamma", "accuracy"}
    if not need <= set(reader.fieldnames or ()):
        raise UsageError(f"{name}: a CSV with the columns alpha, beta, gamma, accuracy",
                         f"its header: {', '.join(reader.fieldnames or ()) or '(none)'}")
    out = {}
    for line, rec in enumerate(reader, start=2):
        try:
            key = (Fraction(rec["alpha"]), Fraction(rec["beta"]), Fraction(rec["gamma"]))
            out[key] = float(rec["accuracy"])
        except (ValueError, TypeError, ZeroDivisionError):
            raise UsageError(f"{name}:{line}: cannot read the numbers of this row") from None
    return out


def scaled_spec(parsed: Any, variant: str | None, scaled: Scaled, coefficients: str) -> str:
    """The spec as YAML with the scaled parameters as its defaults (a spec ``cnnstat verify``
    and ``check`` accept): the variants and the published figures, which belong to other
    networks, are left out; the blocks, layers and notes are kept."""
    import yaml

    data = yaml.safe_load(parsed.source.text)
    model = parsed.model
    params = dict(data.get("params") or {})
    if variant is not None:
        params.update(data["variants"][variant]["set"])
    params.update(scaled.set)
    phi = f"{float(scaled.phi):g}"
    data["name"] = f"{model.name}-phi{phi}"
    data["title"] = f"{model.title or model.name}, compound-scaled to phi = {phi} ({coefficients})"
    data["params"] = params
    if scaled.input is not None and data.get("input") is not None:
        data["input"] = list(scaled.input)
    for key in ("variants", "reference", "expect", "budget"):
        data.pop(key, None)
    if isinstance(data.get("scaling"), dict):
        data["scaling"].pop("variants", None)
    return yaml.dump(data, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100)


def _literal(dumper: Any, text: str) -> Any:
    """Several lines (the notes) as a literal block, as they were written."""
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, _literal)
    return Dumper
