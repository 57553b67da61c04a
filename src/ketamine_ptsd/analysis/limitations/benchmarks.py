"""No control group: this cohort's within-group effect beside published effects, and how much of it a
placebo or expectancy response of each size would leave (benchmarks from ``data/benchmarks.yml``, read by
:func:`ketamine_ptsd.data.references.load_benchmarks`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.analysis.values import as_float as _float
from ketamine_ptsd.analysis.values import plain_frame as _plain

_FOREST_KINDS = {
    "cohort": "this cohort",
    "control": "within-group control arm",
    "active": "within-group active arm",
    "between": "between-group",
}
_BETWEEN_MEASURES = ("between_group_d", "between_group_g", "between_group_smd")


def benchmark_numbers(benchmarks: Sequence[Mapping]) -> dict[str, float]:
    """Every published number of the benchmarks by name, for the chapter's prose.

    ``<id>`` is the value, ``<id>_ci_low``/``_ci_high`` its interval, ``<id>_range_low``/``_range_high`` a
    published range, ``<id>_n`` the study's participants; numbers the source does not give are left out.
    """
    out: dict[str, float] = {}
    for b in benchmarks:
        for field, suffix in (
            ("value", ""),
            ("ci_low", "_ci_low"),
            ("ci_high", "_ci_high"),
            ("range_low", "_range_low"),
            ("range_high", "_range_high"),
            ("n", "_n"),
        ):
            if b[field] is not None:
                out[b["id"] + suffix] = b[field]
    return out


def benchmarks_table(benchmarks: Sequence[Mapping], measures: Sequence[str]) -> pd.DataFrame:
    """The benchmarks whose ``measure`` is one of ``measures``, in file order, with the columns a reader needs.

    Returns
    -------
    pandas.DataFrame
        ``id, label, instrument, design, arm_kind, measure, value, n_arm, n, source, note``: ``n_arm`` the
        patients of the arm the value describes, ``n`` the study's, each ``None`` where the source lacks it.
    """
    cols = ["id", "label", "instrument", "design", "arm_kind", "measure", "value", "n_arm", "n", "source", "note"]
    rows = [{c: b[c] for c in cols} for b in benchmarks if b["measure"] in measures]
    return _plain(pd.DataFrame(rows, columns=cols))


def benchmark(benchmarks: Sequence[Mapping], id_: str) -> Mapping | None:
    """The benchmark with id ``id_``, or None when the file has none."""
    return next((b for b in benchmarks if b["id"] == id_), None)


def _control_ds(benchmarks: Sequence[Mapping]) -> list[tuple[str, float]]:
    """(id, d) of the within-group standardised changes of control (placebo) arms."""
    return [
        (b["id"], float(b["value"]))
        for b in benchmarks
        if b["measure"] == "within_group_d" and b["arm_kind"] == "control" and b["value"] is not None
    ]


def forest_rows(cohort_effect: Mapping, benchmarks: Sequence[Mapping]) -> pd.DataFrame:
    """Rows of a forest plot: this cohort's within-group d_av beside published standardised effects.

    Within-group effects (this cohort, active and control arms of trials) answer "how much did scores
    fall"; between-group effects answer "how much more than the control arm". Only the second is a
    drug effect. The ``kind`` column keeps them apart.

    Parameters
    ----------
    cohort_effect : mapping
        ``d_av`` (or ``value``), ``ci_low``, ``ci_high``; optional ``label`` and ``instrument``, and
        ``suppressed``: which of the three the small-cell rule hid (given as None).
    benchmarks : sequence of mapping
        From :func:`ketamine_ptsd.data.references.load_benchmarks`.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, label, kind, instrument, measure, value, ci_low, ci_high, source``: the cohort first,
        then within-group active arms, within-group control arms, between-group effects. Benchmarks
        without a number are left out. ``attrs["suppressed"]`` lists the cohort's hidden cells.
    """
    value = cohort_effect.get("d_av", cohort_effect.get("value"))
    rows = [
        {
            "id": "this_cohort",
            "label": cohort_effect.get("label", "This cohort (d_av)"),
            "kind": _FOREST_KINDS["cohort"],
            "instrument": cohort_effect.get("instrument", "PCL-5"),
            "measure": "within_group_d",
            "value": _float(value),
            "ci_low": _float(cohort_effect.get("ci_low")),
            "ci_high": _float(cohort_effect.get("ci_high")),
            "source": cohort_effect.get("source", "this re-analysis"),
        }
    ]
    order = {"active": 1, "control": 2, "between": 3}
    picked = []
    for b in benchmarks:
        if b["value"] is None:
            continue
        if b["measure"] == "within_group_d" and b["arm_kind"] in ("active", "control"):
            key = b["arm_kind"]
        elif b["measure"] in _BETWEEN_MEASURES:
            key = "between"
        else:
            continue
        picked.append(
            (
                order[key],
                {
                    "id": b["id"],
                    "label": b["label"],
                    "kind": _FOREST_KINDS[key],
                    "instrument": b["instrument"],
                    "measure": b["measure"],
                    "value": _float(b["value"]),
                    "ci_low": _float(b["ci_low"]),
                    "ci_high": _float(b["ci_high"]),
                    "source": b["source"],
                },
            )
        )
    rows += [row for _, row in sorted(picked, key=lambda item: item[0])]
    out = _plain(pd.DataFrame(rows))
    hidden = set(cohort_effect.get(SUPPRESSED_KEY, ()))
    out.attrs["suppressed"] = [
        (0, "value" if key == "d_av" else key) for key in ("d_av", "value", "ci_low", "ci_high") if key in hidden
    ]
    return out


def placebo_sensitivity(
    observed_d: float,
    placebo_ds: Sequence[float] | None = None,
    *,
    benchmarks: Sequence[Mapping],
    step: float = 0.1,
    observed_change: float | None = None,
    sd_pre: float | None = None,
    sd_post: float | None = None,
) -> pd.DataFrame:
    """Effect left over if a placebo or expectancy response of a given size were part of it.

    Assumes the drug and non-drug parts add up on the d_av scale: remaining d = observed d - placebo d.
    Control-arm ds come from CAPS-5 and other scales; using them on PCL-5 treats a standardised change as
    portable across scales, an assumption the chapter states.

    Parameters
    ----------
    observed_d : float
        The cohort's d_av.
    placebo_ds : sequence of float, optional
        Placebo within-group ds to try. Default: 0 to the largest control-arm within-group d in
        ``benchmarks`` in steps of ``step``, plus each benchmark value itself.
    benchmarks : sequence of mapping
        From :func:`ketamine_ptsd.data.references.load_benchmarks`: the control arms give the default grid.
    step : float
        Grid step of the default range.
    observed_change, sd_pre, sd_post : float, optional
        Mean change and the two SDs behind ``observed_d``. When all are given, the table also gives
        points: placebo d times the d_av denominator ``sqrt((sd_pre^2 + sd_post^2) / 2)``.

    Returns
    -------
    pandas.DataFrame
        ``placebo_d, remaining_d, pct_of_observed, in_benchmark_range, benchmark_id, benchmark_label`` and,
        with the SDs, ``placebo_points, remaining_points``. ``in_benchmark_range`` marks placebo ds between
        the smallest and largest control-arm d of the benchmarks; ``benchmark_id``/``_label`` name the
        control arms whose d equals the row's.
    """
    if observed_d is None or not math.isfinite(observed_d):
        return pd.DataFrame(columns=["placebo_d", "remaining_d", "pct_of_observed"])
    controls = _control_ds(benchmarks)
    labels = {b["id"]: b.get("label") or b["id"] for b in benchmarks}
    if placebo_ds is None:
        top = max((d for _, d in controls), default=0.0)
        # Whole steps up to the largest control d, never past it (1e-9 absorbs 1.2 / 0.1 = 11.999...).
        grid = np.round(step * np.arange(math.floor(top / step + 1e-9) + 1), 10)
        placebo_ds = sorted(set(grid.tolist()) | {d for _, d in controls})
    placebo = np.asarray(placebo_ds, dtype=float)
    lo = min((d for _, d in controls), default=math.nan)
    hi = max((d for _, d in controls), default=math.nan)
    by_value = {}
    for id_, d in controls:
        by_value.setdefault(d, []).append(id_)
    out = pd.DataFrame(
        {
            "placebo_d": placebo,
            "remaining_d": observed_d - placebo,
            "pct_of_observed": 100 * (observed_d - placebo) / observed_d if observed_d != 0 else np.nan,
            "in_benchmark_range": (placebo >= lo) & (placebo <= hi),
            "benchmark_id": [", ".join(by_value.get(float(d), [])) or None for d in placebo],
            "benchmark_label": ["; ".join(labels[i] for i in by_value.get(float(d), [])) or None for d in placebo],
        }
    )
    if None not in (observed_change, sd_pre, sd_post):
        sd_av = math.sqrt((sd_pre**2 + sd_post**2) / 2)
        out["placebo_points"] = placebo * sd_av
        out["remaining_points"] = observed_change - placebo * sd_av
    return _plain(out)


def placebo_at_largest_control(placebo: pd.DataFrame) -> pd.Series | None:
    """The row of :func:`placebo_sensitivity` at the largest control-arm d in the benchmark range: the
    plausible ceiling of a placebo and expectancy response. None when no row is in that range.

    >>> table = pd.DataFrame({"placebo_d": [0.5, 1.0, 1.2], "in_benchmark_range": [False, True, True]})
    >>> float(placebo_at_largest_control(table)["placebo_d"])
    1.2
    """
    if not len(placebo) or "in_benchmark_range" not in placebo:
        return None
    in_range = placebo[placebo["in_benchmark_range"].astype(bool)]
    return in_range.loc[in_range["placebo_d"].astype(float).idxmax()] if len(in_range) else None
