"""How much of the headline effect could be something other than ketamine.

The "Limitations" chapter sets the cohort's pre-post change beside what an uncontrolled, records-based
design cannot rule out: placebo and expectancy response, regression to the mean, the passage of time,
dropout, an unrepresentative sample and many tests. Each function here puts a number on one of them,
from the cohort and from the published benchmarks in ``data/benchmarks.yml``.

Inputs are the validated cohort frame (the data contract's columns). An optional column that is entirely
missing turns the analysis that needs it into ``None`` (or an empty frame) with a ``reason``. Scalars are
plain Python floats/ints or ``None``; every computation is vectorised so a cohort of a million patients
takes seconds.

Small cells. The functions that describe patients take ``min_cell`` (0, the default, turns the rule off)
and apply the book's small-cell rule (:func:`ketamine_ptsd.analysis.privacy.suppress`): a value resting on 1 to
``min_cell - 1`` patients is None, and its name is listed under ``"suppressed"`` of the returned dict, or
its cell as ``(row, column)`` in ``attrs["suppressed"]`` of the returned frame (:func:`mark_suppressed`
turns those into what the book shows and the paths ``results.json`` lists). A percentile counts as resting
on the patients at or beyond it on either side, so the shortest or longest interval (one patient's own
value) is never given; the 5th and 95th percentiles stand in for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, SUPPRESSED_TEXT, suppress, too_few
from ketamine_ptsd.analysis.stats import holm as holm_adjusted
from ketamine_ptsd.parameters import DEFAULTS
from ketamine_ptsd.paths import DATA

BENCHMARKS_PATH = DATA / "benchmarks.yml"

BENCHMARK_FIELDS = (
    "id",
    "label",
    "source",
    "instrument",
    "design",
    "arm",
    "arm_kind",
    "measure",
    "value",
    "ci_low",
    "ci_high",
    "range_low",
    "range_high",
    "n",
    "n_arm",
    "derived",
    "note",
)
INSTRUMENTS = ("PCL-5", "CAPS-5", "mixed", "not stated")
ARM_KINDS = ("active", "control", "untreated", "between arms", None)

#: The grid of assumptions :func:`rtm_grid` explores by default. Reliabilities span the published PCL-5
#: test-retest r (.82, Blevins et al. 2015; .84, Bovin et al. 2016) and values either side; population
#: means span a range around the Osmind real-world baseline (about 47); SDs run from a cohort's to wider.
GRID_POPULATION_MEANS = (35, 40, 45, 47, 50, 55)
GRID_POPULATION_SDS = (10, 15, 20)
GRID_RELIABILITIES = (0.70, 0.75, 0.82, 0.84, 0.90)

_FOREST_KINDS = {
    "cohort": "this cohort",
    "control": "within-group control arm",
    "active": "within-group active arm",
    "between": "between-group",
}
_BETWEEN_MEASURES = ("between_group_d", "between_group_g", "between_group_smd")


# --------------------------------------------------------------------------------------------------
# helpers


def _float(x) -> float | None:
    """A plain float, or None for anything missing or non-finite."""
    if x is None or x is pd.NA:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _num(cohort: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64 with NaN for missing; all-NaN when the column is absent."""
    if column not in cohort.columns:
        return np.full(len(cohort), np.nan)
    return pd.to_numeric(cohort[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _pairs(cohort: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``pcl5_pre`` and ``pcl5_post`` of every patient with a baseline score (post NaN = dropout)."""
    pre, post = _num(cohort, "pcl5_pre"), _num(cohort, "pcl5_post")
    keep = ~np.isnan(pre)
    return pre[keep], post[keep]


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding missing values become object columns of None, so rows serialise to JSON."""
    for col in df.columns:
        if df[col].isna().any():
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


def _t_interval(mean: float, se: float, df: float, ci_level: float) -> tuple[float | None, float | None]:
    if not (math.isfinite(se) and df > 0):
        return None, None
    half = float(stats.t.ppf(0.5 + ci_level / 2, df)) * se
    return mean - half, mean + half


def _mills(z: np.ndarray | float) -> np.ndarray:
    """phi(z) / (1 - Phi(z)) (inverse Mills ratio), in logs so it stays finite for large z."""
    return np.exp(stats.norm.logpdf(z) - stats.norm.logsf(z))


def _quantile_sizes(values: np.ndarray, quantile: float) -> tuple[int, int]:
    """How many of ``values`` lie at or below and at or above ``quantile``: the patients a percentile rests on."""
    return int((values <= quantile).sum()), int((values >= quantile).sum())


def _suppressed_cells(
    frame: pd.DataFrame,
    sizes: Mapping[tuple[int, str], object],
    min_cell: int,
    inherited: Sequence[tuple[int, str]] = (),
) -> pd.DataFrame:
    """``frame`` with every cell ``(row, column)`` of ``sizes`` whose group is too small set to None, those
    cells listed in ``attrs["suppressed"]`` (cells that already held None are not, unless ``inherited``
    names them: copied from an input the rule had already hidden)."""
    frame = frame.astype(object).where(frame.notna(), None)
    hidden = []
    for (i, column), size in sizes.items():
        groups = size if isinstance(size, (list, tuple)) else [size]
        if (i, column) in inherited:
            frame.at[i, column] = None
            hidden.append((i, column))
        elif frame.at[i, column] is not None and any(too_few(k, min_cell) for k in groups):
            frame.at[i, column] = None
            hidden.append((i, column))
    frame.attrs["suppressed"] = hidden
    return frame


def mark_suppressed(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    """The table as the book shows it, and the paths ``results.json`` lists for it.

    Each cell ``(row, column)`` listed in ``frame.attrs["suppressed"]`` reads "suppressed" in the returned
    copy; the paths are ``name[row].column``, for :func:`ketamine_ptsd.presentation.results.record` of the records.

    >>> t = pd.DataFrame({"x": [1.5, None]}); t.attrs["suppressed"] = [(1, "x")]
    >>> shown, paths = mark_suppressed(t, "t")
    >>> list(shown["x"]), paths
    ([1.5, 'suppressed'], ['t[1].x'])
    """
    cells = list(frame.attrs.get("suppressed", []))
    shown = frame.astype(object).copy()
    for i, column in cells:
        shown.at[i, column] = SUPPRESSED_TEXT
    return shown, [f"{name}[{i}].{column}" for i, column in cells]


def renamed(values: Mapping, names: Mapping[str, str]) -> dict:
    """``values[key]`` under the name ``names[key]`` for each key of ``names``, and under ``"suppressed"`` the
    new names of those the small-cell rule hid: ready for :func:`ketamine_ptsd.presentation.results.record_all`.

    >>> renamed({"n": None, "m": 2, "suppressed": ["n"]}, {"n": "followup_n", "m": "followup_m"})
    {'followup_n': None, 'followup_m': 2, 'suppressed': ['followup_n']}
    """
    hidden = set(values.get(SUPPRESSED_KEY, ()))
    out = {new: values[old] for old, new in names.items()}
    out[SUPPRESSED_KEY] = [new for old, new in names.items() if old in hidden]
    return out


def suppressed_with(values: Mapping, source: Mapping, needs: Mapping[str, Sequence[str]]) -> dict:
    """``values`` with each key whose inputs (``needs[key]``, keys of ``source``) the small-cell rule hid in
    ``source`` set to None and named under ``"suppressed"``: what is derived from a hidden value is hidden.

    >>> suppressed_with({"share": 0.5, "k": 3}, {"mean": None, "suppressed": ["mean"]}, {"share": ["mean"]})
    {'share': None, 'k': 3, 'suppressed': ['share']}
    """
    hidden = set(source.get(SUPPRESSED_KEY, ()))
    out = dict(values)
    out[SUPPRESSED_KEY] = [key for key in values if hidden.intersection(needs.get(key, ()))]
    for key in out[SUPPRESSED_KEY]:
        out[key] = None
    return out


def sentence(template: str, missing: str, **values) -> str:
    """``template`` filled with ``values``, or ``missing`` when any value is None (the data could not give it).

    The chapter builds its data-dependent sentences this way, from numbers only, so a value that is absent
    for some cohort gives a sentence saying so instead of a failed build.

    >>> sentence("d = {d:.2f}", "not computed", d=1.234)
    'd = 1.23'
    >>> sentence("d = {d:.2f}", "not computed", d=None)
    'not computed'
    """
    if any(v is None for v in values.values()):
        return missing
    return template.format(**values)


# --------------------------------------------------------------------------------------------------
# benchmarks


def load_benchmarks(path: str | Path | None = None) -> list[dict]:
    """Read the published benchmarks and check their fields.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; default ``data/benchmarks.yml`` of the repository.

    Returns
    -------
    list of dict
        One dict per entry, with the fields listed in :data:`BENCHMARK_FIELDS`.

    Raises
    ------
    ValueError
        When an entry lacks a field, repeats an id, or names an unknown instrument or arm kind.
    """
    path = Path(path) if path is not None else BENCHMARKS_PATH
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of benchmark entries")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}: entry {i + 1} ({entry.get('id', '?') if isinstance(entry, dict) else '?'})"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: not a mapping")
        missing = [f for f in BENCHMARK_FIELDS if f not in entry]
        if missing:
            raise ValueError(f"{where}: missing fields {', '.join(missing)}")
        if entry["id"] in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(entry["id"])
        if entry["instrument"] not in INSTRUMENTS:
            raise ValueError(f"{where}: instrument must be one of {INSTRUMENTS}, got {entry['instrument']!r}")
        if entry["arm_kind"] not in ARM_KINDS:
            raise ValueError(f"{where}: arm_kind must be one of {ARM_KINDS}, got {entry['arm_kind']!r}")
    return entries


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
        ``id, label, instrument, design, arm_kind, measure, value, n, source, note``.
    """
    cols = ["id", "label", "instrument", "design", "arm_kind", "measure", "value", "n", "source", "note"]
    rows = [{c: b[c] for c in cols} for b in benchmarks if b["measure"] in measures]
    return _plain(pd.DataFrame(rows, columns=cols))


def _benchmark(benchmarks: Sequence[Mapping], id_: str) -> Mapping | None:
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
        From :func:`load_benchmarks`.

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


# --------------------------------------------------------------------------------------------------
# placebo and expectancy


def placebo_sensitivity(
    observed_d: float,
    placebo_ds: Sequence[float] | None = None,
    *,
    benchmarks: Sequence[Mapping] | None = None,
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
    benchmarks : sequence of mapping, optional
        From :func:`load_benchmarks`; read when ``placebo_ds`` is not given (default: the bundled file).
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
    benchmarks = benchmarks if benchmarks is not None else load_benchmarks()
    controls = _control_ds(benchmarks)
    labels = {b["id"]: b.get("label") or b["id"] for b in benchmarks}
    if placebo_ds is None:
        top = max((d for _, d in controls), default=0.0)
        grid = np.round(np.arange(0.0, top + step / 2, step), 10)
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


# --------------------------------------------------------------------------------------------------
# regression to the mean


def rtm_expected_change(
    entry_threshold: float = DEFAULTS["rtm_entry_threshold"],
    population_mean: float = DEFAULTS["rtm_population_mean"],
    population_sd: float = DEFAULTS["rtm_population_sd"],
    reliability: float = DEFAULTS["reliability"],
    observed_pre_mean: float | None = None,
) -> dict:
    """Expected drop from baseline to retest from regression to the mean alone.

    Patients selected for a baseline score ``X >= c`` from a normal population (mean mu, SD sigma) score
    closer to mu at retest even without treatment. With test-retest correlation rho (Barnett, van der Pols
    & Dobson 2005, Int J Epidemiol 34:215, doi:10.1093/ije/dyh299)::

        z = (c - mu) / sigma
        C(z) = phi(z) / (1 - Phi(z))
        expected_pre_mean = mu + sigma * C(z)            (mean of the truncated normal)
        rtm_expected_change = sigma * (1 - rho) * C(z)   (= (1 - rho) * (expected_pre_mean - mu))

    Parameters
    ----------
    entry_threshold : float
        Lowest baseline PCL-5 admitted (c). Defaults: the build parameters ``rtm_entry_threshold``,
        ``rtm_population_mean``, ``rtm_population_sd`` and ``reliability`` (reasons in ``parameters.SPEC``).
    population_mean, population_sd : float
        mu and sigma of the population patients were selected from (assumptions; see the grid).
    reliability : float
        Test-retest correlation rho of the PCL-5, in [0, 1].
    observed_pre_mean : float, optional
        The cohort's mean ``pcl5_pre``. When given, also ``(1 - rho) * (observed_pre_mean - mu)``: the
        regression implied by how far the cohort actually sits above mu, whatever the selection rule.

    Returns
    -------
    dict
        ``rtm_expected_change`` (points, positive = a drop, like the cohort's change),
        ``expected_pre_mean``, ``z``, ``mills_ratio`` (C(z)), ``rtm_from_observed_pre_mean`` (or None),
        and the four inputs.
    """
    if population_sd <= 0:
        raise ValueError("population_sd must be positive")
    if not 0 <= reliability <= 1:
        raise ValueError("reliability must lie in [0, 1]")
    z = (entry_threshold - population_mean) / population_sd
    mills = float(_mills(z))
    from_observed = None
    if observed_pre_mean is not None:
        from_observed = _float((1 - reliability) * (observed_pre_mean - population_mean))
    return {
        "rtm_expected_change": population_sd * (1 - reliability) * mills,
        "expected_pre_mean": population_mean + population_sd * mills,
        "z": z,
        "mills_ratio": mills,
        "rtm_from_observed_pre_mean": from_observed,
        "entry_threshold": float(entry_threshold),
        "population_mean": float(population_mean),
        "population_sd": float(population_sd),
        "reliability": float(reliability),
    }


def baseline_below_threshold(cohort: pd.DataFrame, entry_threshold: float, min_cell: int = 0) -> dict:
    """How the cohort's baselines sit against an assumed entry threshold.

    A patient with ``pcl5_pre`` below the threshold could not have been selected by it, so any such patient
    shows the assumed selection rule is not the one the clinic used. The lowest baseline is not given: it
    is one patient's score.

    Returns
    -------
    dict
        ``n`` (patients with a baseline), ``n_below``, ``pct_below`` (None without baselines) and
        ``suppressed`` (the count and its share when they rest on 1 to ``min_cell - 1`` patients).
    """
    pre = _num(cohort, "pcl5_pre")
    pre = pre[~np.isnan(pre)]
    if pre.size == 0:
        return {"n": 0, "n_below": 0, "pct_below": None, SUPPRESSED_KEY: []}
    below = int((pre < entry_threshold).sum())
    out = {"n": int(pre.size), "n_below": below, "pct_below": 100 * below / pre.size}
    return suppress(out, {"n_below": below, "pct_below": (below, int(pre.size))}, min_cell)


def pct_change_explained_by_rtm(rtm_expected_change: float | None, observed_mean_change: float | None) -> float | None:
    """Regression to the mean as a percentage of the observed mean change (None if that change is 0 or unknown)."""
    if rtm_expected_change is None or observed_mean_change is None or observed_mean_change == 0:
        return None
    return _float(100 * rtm_expected_change / observed_mean_change)


def rtm_grid(
    population_means: Sequence[float] = GRID_POPULATION_MEANS,
    reliabilities: Sequence[float] = GRID_RELIABILITIES,
    population_sds: Sequence[float] = GRID_POPULATION_SDS,
    entry_threshold: float = DEFAULTS["rtm_entry_threshold"],
    observed_mean_change: float | None = None,
) -> pd.DataFrame:
    """:func:`rtm_expected_change` over every combination of population mean, SD and reliability.

    Shows how much the answer rests on the assumed population (default grid: ``GRID_*`` above).

    Returns
    -------
    pandas.DataFrame
        ``population_mean, population_sd, reliability, z, expected_pre_mean, rtm_expected_change`` and,
        with ``observed_mean_change``, ``pct_of_observed_change``.
    """
    mu, sd, rho = (
        a.ravel()
        for a in np.meshgrid(
            np.asarray(population_means, float),
            np.asarray(population_sds, float),
            np.asarray(reliabilities, float),
            indexing="ij",
        )
    )
    z = (entry_threshold - mu) / sd
    mills = _mills(z)
    out = pd.DataFrame(
        {
            "population_mean": mu,
            "population_sd": sd,
            "reliability": rho,
            "z": z,
            "expected_pre_mean": mu + sd * mills,
            "rtm_expected_change": sd * (1 - rho) * mills,
        }
    )
    if observed_mean_change:
        out["pct_of_observed_change"] = 100 * out["rtm_expected_change"] / observed_mean_change
    return out


# --------------------------------------------------------------------------------------------------
# follow-up time


def _followup_data(cohort: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``days_between`` and change of completers with a known follow-up time."""
    pre, post, days = _num(cohort, "pcl5_pre"), _num(cohort, "pcl5_post"), _num(cohort, "days_between")
    keep = ~(np.isnan(pre) | np.isnan(post) | np.isnan(days))
    return days[keep], (pre - post)[keep]


def followup_points(cohort: pd.DataFrame) -> pd.DataFrame:
    """``days`` (``days_between``) and ``change`` of every completer with a known follow-up time."""
    days, change = _followup_data(cohort)
    return pd.DataFrame({"days": days, "change": change})


def followup_summary(cohort: pd.DataFrame, min_cell: int = 0) -> dict:
    """Distribution of ``days_between`` over completers (the time the change took to happen).

    The shortest and longest intervals are one patient's each, so the 5th and 95th percentiles describe the
    range instead. With ``min_cell``, a count of 1 to ``min_cell - 1`` completers is suppressed, the mean
    when it rests on that few, and a percentile unless at least ``min_cell`` completers lie at or below it
    and at least as many at or above it.

    Returns
    -------
    dict
        ``n, n_completers_missing, mean, median, q1, q3, iqr, p05, p95`` (days; percentiles by linear
        interpolation), ``reason`` (None, or why the values are None) and ``suppressed``.
    """
    pre, post, days = _num(cohort, "pcl5_pre"), _num(cohort, "pcl5_post"), _num(cohort, "days_between")
    done = ~(np.isnan(pre) | np.isnan(post))
    d = days[done & ~np.isnan(days)]
    keys = ("mean", "median", "q1", "q3", "iqr", "p05", "p95")
    out = {"n": int(d.size), "n_completers_missing": int(done.sum() - d.size)}
    sizes = {"n": out["n"], "n_completers_missing": out["n_completers_missing"]}
    if d.size == 0:
        out |= dict.fromkeys(keys) | {"reason": "days_between is not available for any completer"}
        return suppress(out, sizes, min_cell)
    p05, q1, med, q3, p95 = (float(v) for v in np.quantile(d, [0.05, 0.25, 0.5, 0.75, 0.95]))
    out |= {
        "mean": float(d.mean()),
        "median": med,
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "p05": p05,
        "p95": p95,
        "reason": None,
    }
    sizes |= {"mean": out["n"], "iqr": _quantile_sizes(d, q1) + _quantile_sizes(d, q3)}
    sizes |= {key: _quantile_sizes(d, out[key]) for key in ("median", "q1", "q3", "p05", "p95")}
    return suppress(out, sizes, min_cell)


def change_by_followup(
    cohort: pd.DataFrame, split: str | float = "median", ci_level: float = 0.95, min_cell: int = 0
) -> dict:
    """Mean change of completers with short vs long follow-up (Welch t-test).

    If scores kept falling with time regardless of treatment (natural course), longer follow-up would
    show larger change; if the effect fades, smaller.

    Parameters
    ----------
    cohort : pandas.DataFrame
    split : "median" or float
        Follow-up ``<= split`` days is short, longer is long; "median" splits at the median.
    ci_level : float
    min_cell : int
        With a group of 1 to ``min_cell - 1`` completers, its count and mean, the comparison and (when it
        is the median) the split are suppressed, and ``reason`` says so.

    Returns
    -------
    dict
        ``split_days, n_short, n_long, mean_change_short, mean_change_long, difference`` (long minus short),
        ``ci_low, ci_high`` (Welch), ``t, df, p``, ``reason`` and ``suppressed``. Values are None, with a
        reason, when ``days_between`` is absent or a group has fewer than two patients.
    """
    out = _change_by_followup(cohort, split, ci_level)
    if out["split_days"] is None:
        return out | {SUPPRESSED_KEY: []}
    groups = (out["n_short"], out["n_long"])
    sizes = dict.fromkeys(("difference", "ci_low", "ci_high", "t", "df", "p"), groups)
    sizes |= {"n_short": groups[0], "mean_change_short": groups[0], "n_long": groups[1], "mean_change_long": groups[1]}
    if split == "median":
        sizes["split_days"] = groups  # the median is a patient's value (or two): it rests on both sides
    out = suppress(out, sizes, min_cell)
    if out[SUPPRESSED_KEY]:
        # The reason may quote the split: say only why nothing is shown.
        out["reason"] = f"a group on one side of the split holds fewer than {min_cell} completers (suppressed)"
    return out


def _change_by_followup(cohort: pd.DataFrame, split: str | float, ci_level: float) -> dict:
    """:func:`change_by_followup` without the small-cell rule."""
    days, change = _followup_data(cohort)
    keys = (
        "split_days",
        "n_short",
        "n_long",
        "mean_change_short",
        "mean_change_long",
        "difference",
        "ci_low",
        "ci_high",
        "t",
        "df",
        "p",
    )
    empty = dict.fromkeys(keys)
    if days.size == 0:
        return empty | {"reason": "days_between is not available for any completer"}
    cut = float(np.median(days)) if split == "median" else float(split)
    short, long_ = change[days <= cut], change[days > cut]
    base = empty | {"split_days": cut, "n_short": int(short.size), "n_long": int(long_.size)}
    if short.size < 2 or long_.size < 2:
        return base | {"reason": f"fewer than two completers on one side of {cut:g} days"}
    v1, v2 = short.var(ddof=1) / short.size, long_.var(ddof=1) / long_.size
    diff = float(long_.mean() - short.mean())
    se = math.sqrt(v1 + v2)
    out = base | {
        "mean_change_short": float(short.mean()),
        "mean_change_long": float(long_.mean()),
        "difference": diff,
        "reason": None,
    }
    if se == 0:
        return out | {"reason": "no variation in change within either group"}
    df = (v1 + v2) ** 2 / (v1**2 / (short.size - 1) + v2**2 / (long_.size - 1))  # Welch-Satterthwaite
    t = diff / se
    lo, hi = _t_interval(diff, se, df, ci_level)
    return out | {"ci_low": lo, "ci_high": hi, "t": t, "df": float(df), "p": float(2 * stats.t.sf(abs(t), df))}


def lowess_curve(cohort: pd.DataFrame, frac: float = 2 / 3, n_bins: int = 40) -> pd.DataFrame:
    """A LOWESS-style curve of change against ``days_between`` that stays fast on a million patients.

    Completers are binned by follow-up (one bin per distinct day when there are at most ``n_bins`` of them,
    otherwise quantile bins); each bin's mean day and mean change are then smoothed by local linear
    regression with tricube weights over the ``int(frac * bins)`` nearest bins (Cleveland 1979, the rule of
    ``statsmodels``' lowess without robustness iterations), each bin weighted by its patient count.
    Cost: one pass over the patients plus a bins-by-bins matrix.

    Parameters
    ----------
    cohort : pandas.DataFrame
    frac : float
        Share of bins in each local fit, in (0, 1].
    n_bins : int
        Most bins to use.

    Returns
    -------
    pandas.DataFrame
        ``days`` (bin mean), ``n``, ``mean_change`` (bin mean) and ``change_smooth``, ordered by days.
        Empty, with ``attrs["reason"]``, when fewer than three distinct follow-up times are known.
    """
    days, change = _followup_data(cohort)
    columns = ["days", "n", "mean_change", "change_smooth"]
    uniq = np.unique(days)
    if uniq.size < 3:
        out = pd.DataFrame(columns=columns)
        out.attrs["reason"] = (
            "days_between is not available for any completer"
            if uniq.size == 0
            else "fewer than three distinct follow-up times"
        )
        return out
    if uniq.size <= n_bins:
        edges_idx = np.searchsorted(uniq, days)
        nb = uniq.size
    else:
        edges = np.unique(np.quantile(days, np.linspace(0, 1, n_bins + 1)))
        edges_idx = np.clip(np.searchsorted(edges, days, side="right") - 1, 0, edges.size - 2)
        nb = edges.size - 1
    n = np.bincount(edges_idx, minlength=nb).astype(float)
    keep = n > 0
    x = (np.bincount(edges_idx, weights=days, minlength=nb)[keep]) / n[keep]
    y = (np.bincount(edges_idx, weights=change, minlength=nb)[keep]) / n[keep]
    n = n[keep]
    smooth = _local_linear(x, y, n, frac)
    return pd.DataFrame({"days": x, "n": n.astype(int), "mean_change": y, "change_smooth": smooth})


def _local_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray, frac: float) -> np.ndarray:
    """Tricube-weighted local linear fit at each x over its ``int(frac * len(x))`` nearest points."""
    nx = x.size
    k = min(max(int(frac * nx + 1e-10), 2), nx)
    dist = np.abs(x[:, None] - x[None, :])
    radius = np.sort(dist, axis=1)[:, k - 1]
    u = np.clip(dist / np.where(radius > 0, radius, 1.0)[:, None], 0, 1)
    weights = (1 - u**3) ** 3 * w[None, :]
    weights /= weights.sum(axis=1, keepdims=True)
    xbar = weights @ x
    ybar = weights @ y
    dx = x[None, :] - xbar[:, None]
    sxx = (weights * dx**2).sum(axis=1)
    sxy = (weights * dx * (y[None, :] - ybar[:, None])).sum(axis=1)
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxx), where=sxx > 1e-12 * max(np.ptp(x) ** 2, 1.0))
    return ybar + slope * (x - xbar)


# --------------------------------------------------------------------------------------------------
# missing data


def itt_summary(cohort: pd.DataFrame, ci_level: float = 0.95, min_cell: int = 0) -> dict:
    """Completer mean change beside the intention-to-treat mean with dropouts counted as no change.

    Counting every dropout as unchanged (baseline observation carried forward) is the pessimistic bound
    for a patient who left: it assumes they gained nothing. A dropout adds a zero, so the ITT figures rest
    on the completers (and the number of patients); with 1 to ``min_cell - 1`` completers they are
    suppressed. The counts and the share of dropouts are the sizes every chapter gives.

    Returns
    -------
    dict
        ``n_patients, n_completers, n_dropouts, pct_dropout, completer_mean_change, itt_mean_change,
        itt_change_sd, itt_ci_low, itt_ci_high`` (t interval), ``itt_pct_of_completer_change``,
        ``reason`` and ``suppressed``.
    """
    out = _itt_summary(cohort, ci_level)
    keys = (
        "completer_mean_change",
        "itt_mean_change",
        "itt_change_sd",
        "itt_ci_low",
        "itt_ci_high",
        "itt_pct_of_completer_change",
    )
    return suppress(out, dict.fromkeys(keys, (out["n_completers"], out["n_patients"])), min_cell)


def _itt_summary(cohort: pd.DataFrame, ci_level: float) -> dict:
    """:func:`itt_summary` without the small-cell rule."""
    pre, post = _pairs(cohort)
    done = ~np.isnan(post)
    n, n_done = int(pre.size), int(done.sum())
    change = np.where(done, pre - post, 0.0)
    keys = (
        "completer_mean_change",
        "itt_mean_change",
        "itt_change_sd",
        "itt_ci_low",
        "itt_ci_high",
        "itt_pct_of_completer_change",
    )
    out = {
        "n_patients": n,
        "n_completers": n_done,
        "n_dropouts": n - n_done,
        "pct_dropout": 100 * (n - n_done) / n if n else None,
    } | dict.fromkeys(keys)
    if n_done == 0:
        return out | {"reason": "no completers"}
    completer_mean = float(change[done].mean())
    itt_mean = float(change.mean())
    out |= {
        "completer_mean_change": completer_mean,
        "itt_mean_change": itt_mean,
        "reason": None,
        "itt_pct_of_completer_change": 100 * itt_mean / completer_mean if completer_mean else None,
    }
    if n >= 2:
        sd = float(change.std(ddof=1))
        lo, hi = _t_interval(itt_mean, sd / math.sqrt(n), n - 1, ci_level)
        out |= {"itt_change_sd": sd, "itt_ci_low": lo, "itt_ci_high": hi}
    return out


def rubin_combine(
    estimates: Sequence[float],
    variances: Sequence[float],
    df_complete: float | None = None,
    ci_level: float = 0.95,
) -> dict:
    """Pool m completed-data estimates by Rubin's rules (Rubin 1987).

    ``Qbar = mean(Q)``, ``Ubar = mean(U)``, ``B = var(Q, ddof=1)``, ``T = Ubar + (1 + 1/m) B``.
    Degrees of freedom: Rubin's ``(m - 1) / lambda^2`` with ``lambda = (1 + 1/m) B / T``; with
    ``df_complete`` (the complete-data df) the Barnard & Rubin (1999) small-sample version
    ``1 / (1/df_rubin + 1/df_obs)``, ``df_obs = (df_com + 1) / (df_com + 3) * df_com * (1 - lambda)``.

    Parameters
    ----------
    estimates, variances : sequence of float
        Point estimate and its squared standard error from each of m >= 2 imputed data sets.
    df_complete : float, optional
        Degrees of freedom the estimate would have without missing data.
    ci_level : float

    Returns
    -------
    dict
        ``estimate, se, within_variance, between_variance, total_variance, df, ci_low, ci_high,
        fraction_missing_information`` (lambda), ``relative_increase_variance`` and ``m``. ``df`` is None
        when infinite (no between-imputation variance and no ``df_complete``); the interval is then normal.
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = q.size
    if m < 2 or u.size != m:
        raise ValueError("need at least two imputations, with one variance per estimate")
    qbar, ubar, b = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    extra = (1 + 1 / m) * b
    total = ubar + extra
    lam = extra / total if total > 0 else 0.0
    df_rubin = (m - 1) / lam**2 if lam > 0 else math.inf
    if df_complete is not None:
        df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
        df = 1 / (1 / df_rubin + 1 / df_obs) if df_obs > 0 else df_rubin
    else:
        df = df_rubin
    se = math.sqrt(total)
    if math.isfinite(df):
        lo, hi = _t_interval(qbar, se, df, ci_level)
    else:
        half = float(stats.norm.ppf(0.5 + ci_level / 2)) * se
        lo, hi = qbar - half, qbar + half
    return {
        "estimate": qbar,
        "se": se,
        "within_variance": ubar,
        "between_variance": b,
        "total_variance": total,
        "df": float(df) if math.isfinite(df) else None,
        "ci_low": lo,
        "ci_high": hi,
        "fraction_missing_information": lam,
        "relative_increase_variance": extra / ubar if ubar > 0 else None,
        "m": m,
    }


def multiple_imputation(
    cohort: pd.DataFrame,
    m: int = DEFAULTS["mi_imputations"],
    seed: int = DEFAULTS["mi_seed"],
    ci_level: float = 0.95,
    min_cell: int = 0,
) -> dict:
    """Mean change with missing ``pcl5_post`` multiply imputed from ``pcl5_pre``.

    Proper multiple imputation under missing at random given baseline: normal linear regression of
    ``pcl5_post`` on ``pcl5_pre`` over completers, then per imputation a draw of the residual variance
    (``SSR / chi2(n_obs - p)``) and of the coefficients (normal around the estimate with that variance),
    and imputed scores from the drawn line plus drawn noise (Rubin 1987; van Buuren, *Flexible Imputation
    of Missing Data*, algorithm 3.1). Imputed scores are not rounded or bounded to 0-80: bounding would bias
    the mean. Each imputed data set gives the mean change and its variance ``s^2 / n``; Rubin's rules pool
    them (:func:`rubin_combine`, Barnard-Rubin df with ``n - 1`` complete-data df).

    Parameters
    ----------
    cohort : pandas.DataFrame
    m : int
        Number of imputations (>= 2); default the build parameter ``mi_imputations``.
    seed : int
        Seed of the random draws, so the book is reproducible; default the build parameter ``mi_seed``.
    ci_level : float
    min_cell : int
        The pooled figures rest on the completers (the regression) and on the dropouts (each imputed from
        their own baseline): with 1 to ``min_cell - 1`` of either they are suppressed.

    Returns
    -------
    dict
        ``mi_mean_change, mi_se, mi_ci_low, mi_ci_high, mi_df, fraction_missing_information,
        mi_within_variance, mi_between_variance, m, n_patients, n_imputed, method``, ``reason`` and
        ``suppressed``. With no dropouts nothing is imputed and the values are the completers' mean change
        with its t interval exactly.
    """
    out = _multiple_imputation(cohort, m, seed, ci_level)
    keys = (
        "mi_mean_change",
        "mi_se",
        "mi_ci_low",
        "mi_ci_high",
        "mi_df",
        "fraction_missing_information",
        "mi_within_variance",
        "mi_between_variance",
    )
    groups = (out["n_patients"] - out["n_imputed"], out["n_imputed"])
    return suppress(out, dict.fromkeys(keys, groups), min_cell)


def _multiple_imputation(cohort: pd.DataFrame, m: int, seed: int, ci_level: float) -> dict:
    """:func:`multiple_imputation` without the small-cell rule."""
    if m < 2:
        raise ValueError("m must be at least 2")
    pre, post = _pairs(cohort)
    obs = ~np.isnan(post)
    n, n_obs, n_mis = int(pre.size), int(obs.sum()), int((~obs).sum())
    base = {"m": m, "n_patients": n, "n_imputed": n_mis}
    keys = (
        "mi_mean_change",
        "mi_se",
        "mi_ci_low",
        "mi_ci_high",
        "mi_df",
        "fraction_missing_information",
        "mi_within_variance",
        "mi_between_variance",
    )
    if n_mis == 0:
        change = pre - post
        if n < 2:
            return base | dict.fromkeys(keys) | {"method": None, "reason": "fewer than two completers"}
        mean, se = float(change.mean()), float(change.std(ddof=1) / math.sqrt(n))
        lo, hi = _t_interval(mean, se, n - 1, ci_level)
        return base | {
            "mi_mean_change": mean,
            "mi_se": se,
            "mi_ci_low": lo,
            "mi_ci_high": hi,
            "mi_df": float(n - 1),
            "fraction_missing_information": 0.0,
            "mi_within_variance": se**2,
            "mi_between_variance": 0.0,
            "method": "no dropouts: nothing to impute; the completers' mean change and t interval",
            "reason": None,
        }
    x_obs = pre[obs]
    # A constant baseline among completers leaves the slope unidentified: impute from the mean alone.
    columns = [np.ones(n)] if np.ptp(x_obs) == 0 else [np.ones(n), pre]
    X = np.column_stack(columns)
    p = X.shape[1]
    if n_obs - p < 1:
        reason = f"too few completers ({n_obs}) to impute"
        return base | dict.fromkeys(keys) | {"method": None, "reason": reason}
    Xo, Xm, y = X[obs], X[~obs], post[obs]
    xtx_inv = np.linalg.inv(Xo.T @ Xo)
    beta = xtx_inv @ (Xo.T @ y)
    ssr = float(((y - Xo @ beta) ** 2).sum())
    chol = np.linalg.cholesky(xtx_inv)
    rng = np.random.default_rng(seed)
    change = np.where(obs, pre - post, np.nan)
    est, var = np.empty(m), np.empty(m)
    for i in range(m):
        sigma = math.sqrt(ssr / rng.chisquare(n_obs - p))
        beta_i = beta + sigma * (chol @ rng.standard_normal(p))
        post_i = Xm @ beta_i + sigma * rng.standard_normal(n_mis)
        change[~obs] = pre[~obs] - post_i
        est[i] = change.mean()
        var[i] = change.var(ddof=1) / n
    pooled = rubin_combine(est, var, df_complete=n - 1, ci_level=ci_level)
    return base | {
        "mi_mean_change": pooled["estimate"],
        "mi_se": pooled["se"],
        "mi_ci_low": pooled["ci_low"],
        "mi_ci_high": pooled["ci_high"],
        "mi_df": pooled["df"],
        "fraction_missing_information": pooled["fraction_missing_information"],
        "mi_within_variance": pooled["within_variance"],
        "mi_between_variance": pooled["between_variance"],
        "method": (
            f"normal linear regression imputation of pcl5_post from pcl5_pre with parameter draws "
            f"(proper MI), m = {m}, Rubin's rules with Barnard-Rubin df"
        ),
        "reason": None,
    }


def missing_data_comparison(
    cohort: pd.DataFrame,
    itt: Mapping,
    mi: Mapping,
    *,
    mcid: float = DEFAULTS["mcid"],
    reliability: float = DEFAULTS["reliability"],
    response_fraction: float = DEFAULTS["response_fraction"],
    remission_cutoff: float = DEFAULTS["remission_cutoff"],
    ci_level: float = 0.95,
    min_cell: int = 0,
) -> pd.DataFrame:
    """The headline numbers under three treatments of patients without a post score.

    Rows: completers only (the book's default); all patients with dropouts counted as unchanged
    (``pcl5_post = pcl5_pre``: mean change and d_av) and as not improved (the ``_itt`` shares of
    :func:`ketamine_ptsd.analysis.stats.clinical_significance`); all patients with ``pcl5_post`` multiply imputed
    (mean change only: the shares and d_av are not pooled).

    Parameters
    ----------
    cohort : pandas.DataFrame
    itt, mi : mapping
        From :func:`itt_summary` and :func:`multiple_imputation` of the same cohort.
    mcid, reliability, response_fraction, remission_cutoff : float
        The book's definitions, passed to :func:`ketamine_ptsd.analysis.stats.clinical_significance`.
    ci_level : float
    min_cell : int
        A cell resting on 1 to ``min_cell - 1`` patients is None and listed in ``attrs["suppressed"]``:
        every figure rests on the completers; a share also on the patients it counts; d_av with dropouts
        unchanged and the imputed figures also on the dropouts (their baselines enter them).

    Returns
    -------
    pandas.DataFrame
        ``analysis, n, mean_change, ci_low, ci_high, d_av, pct_clinically_significant, pct_remission``.
    """
    from ketamine_ptsd.analysis import stats as book_stats

    pre, post = _pairs(cohort)
    done = ~np.isnan(post)
    completer = book_stats.paired_outcome(pre[done], post[done], ci_level)
    unchanged = book_stats.paired_outcome(pre, np.where(done, post, pre), ci_level)
    rates = book_stats.clinical_significance(cohort, mcid, reliability, response_fraction, remission_cutoff)
    rows = [
        {
            "analysis": "completers only",
            "n": int(done.sum()),
            "mean_change": completer["mean_change"],
            "ci_low": completer["change_ci_low"],
            "ci_high": completer["change_ci_high"],
            "d_av": completer["d_av"],
            "pct_clinically_significant": rates["pct_clinically_significant"],
            "pct_remission": rates["pct_remission"],
        },
        {
            "analysis": "all patients, dropouts unchanged",
            "n": int(pre.size),
            "mean_change": itt["itt_mean_change"],
            "ci_low": itt["itt_ci_low"],
            "ci_high": itt["itt_ci_high"],
            "d_av": unchanged["d_av"],
            "pct_clinically_significant": rates["pct_clinically_significant_itt"],
            "pct_remission": rates["pct_remission_itt"],
        },
        {
            "analysis": "all patients, multiple imputation",
            "n": int(pre.size),
            "mean_change": mi["mi_mean_change"],
            "ci_low": mi["mi_ci_low"],
            "ci_high": mi["mi_ci_high"],
            "d_av": None,
            "pct_clinically_significant": None,
            "pct_remission": None,
        },
    ]
    n_done, n_drop = int(done.sum()), int((~done).sum())
    k_cs, k_rem = rates["n_clinically_significant"], rates["n_remission"]
    groups = {
        "mean_change": (n_done,),
        "ci_low": (n_done,),
        "ci_high": (n_done,),
        "d_av": (n_done,),
        "pct_clinically_significant": (n_done, k_cs),
        "pct_remission": (n_done, k_rem),
    }
    sizes = {(0, column): size for column, size in groups.items()}
    sizes |= {(1, column): size + ((n_drop,) if column == "d_av" else ()) for column, size in groups.items()}
    sizes |= {(2, column): (n_done, n_drop) for column in ("mean_change", "ci_low", "ci_high")}
    # Values of itt and mi that the rule already hid are None here: still marked as suppressed.
    inherited = [
        (row, column)
        for row, values, prefix in ((1, itt, "itt_"), (2, mi, "mi_"))
        for column in ("mean_change", "ci_low", "ci_high")
        if prefix + column in values.get(SUPPRESSED_KEY, ())
    ]
    return _suppressed_cells(_plain(pd.DataFrame(rows)), sizes, min_cell, inherited)


# --------------------------------------------------------------------------------------------------
# representativeness

_WHITE = ("white", "caucasian", "white non hispanic", "non hispanic white")


def _norm_label(s: pd.Series) -> pd.Series:
    return s.astype("string").str.lower().str.replace(r"[^a-z]+", " ", regex=True).str.strip()


def representativeness(
    cohort: pd.DataFrame,
    benchmarks: Sequence[Mapping] | None = None,
    white_labels: Sequence[str] = _WHITE,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """The cohort's gender, race and age beside the Osmind records and a reference population.

    Shares are of patients who reported the characteristic; the unreported share is given beside them,
    because a cohort where half did not report race says little about race. The bounds say what the share
    among all patients could be: every non-reporter outside the category (low) or inside it (high).

    Parameters
    ----------
    cohort : pandas.DataFrame
    benchmarks : sequence of mapping, optional
        From :func:`load_benchmarks` (default: the bundled file).
    white_labels : sequence of str
        ``race_ethnicity`` values counted as white, compared in lower case with punctuation as spaces.
    min_cell : int, optional
        Values resting on a count of patients from 1 to ``min_cell - 1`` (those reporting, those in the
        category or out of it, those not reporting) become None, the row is marked ``suppressed`` and the
        cells are listed in ``attrs["suppressed"]``.

    Returns
    -------
    pandas.DataFrame
        One row each for women (% of reported gender), white (% of reported race) and mean age:
        ``characteristic, unit, cohort_value, cohort_n_reported, cohort_pct_unreported, cohort_all_low,
        cohort_all_high, suppressed, osmind_value, reference_population_value, reference_population_note``.
        ``cohort_value`` is None with the column entirely missing; the bounds are None for mean age.
    """
    benchmarks = benchmarks if benchmarks is not None else load_benchmarks()
    n = len(cohort)

    def osmind(id_):
        b = _benchmark(benchmarks, id_)
        return _float(b["value"]) if b else None

    def pct(k):
        return 100 * k / n if n else None

    def share(column, hits):
        s = cohort[column] if column in cohort.columns else pd.Series(pd.NA, index=cohort.index, dtype="string")
        s = _norm_label(s)
        reported = (s.notna() & (s != "")).to_numpy(dtype=bool)
        k = int(reported.sum())
        hit = int((reported & s.isin(hits).fillna(False).to_numpy(dtype=bool)).sum())
        values = {
            "cohort_value": 100 * hit / k if k else None,
            "cohort_n_reported": k,
            "cohort_pct_unreported": pct(n - k),
            "cohort_all_low": pct(hit) if k else None,
            "cohort_all_high": pct(hit + n - k) if k else None,
        }
        # A share with its denominator shown reveals both the count in and the count out of the category.
        of_reported = (k, hit, k - hit)
        return values, {
            "cohort_value": of_reported,
            "cohort_n_reported": k,
            "cohort_pct_unreported": (k, n - k),
            "cohort_all_low": of_reported + (n - k,),
            "cohort_all_high": of_reported + (n - k,),
        }

    age = _num(cohort, "age")
    age_k = int((~np.isnan(age)).sum())
    age_row = (
        {
            "cohort_value": float(np.nanmean(age)) if age_k else None,
            "cohort_n_reported": age_k,
            "cohort_pct_unreported": pct(n - age_k),
            "cohort_all_low": None,
            "cohort_all_high": None,
        },
        {"cohort_value": age_k, "cohort_n_reported": age_k, "cohort_pct_unreported": (age_k, n - age_k)},
    )
    rows, cells = [], []
    for i, (characteristic, unit, (values, sizes), ref) in enumerate(
        [
            ("women", "% of reported", share("gender", ["woman", "female", "f"]), "osmind_female"),
            ("white", "% of reported", share("race_ethnicity", [w.strip() for w in white_labels]), "osmind_white"),
            ("mean age", "years", age_row, "osmind_age"),
        ]
    ):
        shown = suppress(values, sizes, min_cell or 0)
        hidden = shown.pop(SUPPRESSED_KEY)
        cells += [(i, column) for column in hidden]
        rows.append(
            {
                "characteristic": characteristic,
                "unit": unit,
                **shown,
                "suppressed": bool(hidden),
                "osmind_value": osmind(ref),
                "reference_population_value": None,
                "reference_population_note": "not available: the project's sources give no figure for US adults "
                "with PTSD",
            }
        )
    out = _plain(pd.DataFrame(rows))
    out.attrs["suppressed"] = cells
    return out


# --------------------------------------------------------------------------------------------------
# multiplicity


def familywise_error_rate(k: int, alpha: float = 0.05) -> float:
    """Chance of at least one false positive among k independent tests at level alpha: ``1 - (1 - alpha)^k``."""
    return 1 - (1 - alpha) ** k


def multiplicity(pvalues: Mapping[str, float | None], alpha: float = 0.05) -> pd.DataFrame:
    """Raw, Holm and Bonferroni adjusted p-values of a family of tests.

    Parameters
    ----------
    pvalues : mapping of str to float or None
        Test name -> p. None (a test that could not be run) is kept as a row and left out of the family.
    alpha : float

    Returns
    -------
    pandas.DataFrame
        ``test, p_raw, p_holm, p_bonferroni, significant_raw, significant_holm, significant_bonferroni``.
        ``attrs`` holds ``k`` (tests in the family) and ``fwer_uncorrected`` (:func:`familywise_error_rate`).
    """
    names = list(pvalues)
    p = np.array([np.nan if pvalues[t] is None else float(pvalues[t]) for t in names], dtype=float)
    have = ~np.isnan(p)
    k = int(have.sum())
    holm = np.array([np.nan if h is None else h for h in holm_adjusted([pvalues[t] for t in names])], dtype=float)
    bonf = np.minimum(1.0, p * k)
    out = pd.DataFrame(
        {
            "test": names,
            "p_raw": p,
            "p_holm": holm,
            "p_bonferroni": bonf,
            "significant_raw": np.where(have, p < alpha, None),
            "significant_holm": np.where(have, holm < alpha, None),
            "significant_bonferroni": np.where(have, bonf < alpha, None),
        }
    )
    out = _plain(out)
    out.attrs["k"] = k
    out.attrs["fwer_uncorrected"] = familywise_error_rate(k, alpha)
    return out


# --------------------------------------------------------------------------------------------------
# safety


def zero_event_upper_bound(n: int, ci_level: float = 0.95) -> dict:
    """Largest event rate compatible with observing no events in ``n`` (Clopper-Pearson, exact).

    With x = 0 the exact interval's upper limit has a closed form: ``1 - ((1 - ci_level) / 2) ** (1 / n)``
    (about 3.7 / n at 95%; the one-sided "rule of three" gives 3 / n). It is what "no serious adverse
    events in n patients" can exclude, at best.

    Returns
    -------
    dict
        ``n``, ``upper`` (proportion) and ``upper_pct``; None when n is 0.
    """
    if n <= 0:
        return {"n": int(n), "upper": None, "upper_pct": None}
    upper = 1 - ((1 - ci_level) / 2) ** (1 / n)
    return {"n": int(n), "upper": upper, "upper_pct": 100 * upper}


# --------------------------------------------------------------------------------------------------
# summary


def _fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def summary_table(
    *,
    observed_mean_change: float | None,
    observed_d: float | None = None,
    placebo: pd.DataFrame | None = None,
    rtm: Mapping | None = None,
    followup: Mapping | None = None,
    change_followup: Mapping | None = None,
    itt: Mapping | None = None,
    mi: Mapping | None = None,
    represent: pd.DataFrame | None = None,
    tests: pd.DataFrame | None = None,
    safety: Mapping | None = None,
    benchmarks: Sequence[Mapping] | None = None,
    ci_level: float = 0.95,
    observed_suppressed: bool = False,
    min_cell: int = 0,
) -> pd.DataFrame:
    """One row per limitation: what it could do to the headline effect, by how much, and what would settle it.

    Every number comes from the other functions' outputs passed in; a limitation whose input is missing
    keeps its row with ``quantity`` None and says so. Inputs suppressed by the small-cell rule (None, and
    named in their ``suppressed`` list or cells) are said to be suppressed, never shown.

    Parameters
    ----------
    observed_mean_change : float or None
        The completers' mean change in PCL-5 points.
    observed_d : float, optional
        The cohort's d_av.
    placebo : DataFrame, optional
        From :func:`placebo_sensitivity`.
    rtm : mapping, optional
        From :func:`rtm_expected_change`.
    followup, change_followup : mapping, optional
        From :func:`followup_summary` and :func:`change_by_followup`.
    itt, mi : mapping, optional
        From :func:`itt_summary` and :func:`multiple_imputation`.
    represent : DataFrame, optional
        From :func:`representativeness`.
    tests : DataFrame, optional
        From :func:`multiplicity`.
    safety : mapping, optional
        From :func:`zero_event_upper_bound`.
    benchmarks : sequence of mapping, optional
        From :func:`load_benchmarks` (default: the bundled file).
    ci_level : float
        Confidence level of the intervals passed in, for the sentences.
    observed_suppressed : bool
        Whether the observed mean change and d were suppressed (passed as None).
    min_cell : int
        The small-cell rule's threshold, for the sentences.

    Returns
    -------
    pandas.DataFrame
        ``limitation, could_do, quantity, unit, by_how_much, design_to_settle``. ``quantity`` is unrounded;
        ``by_how_much`` is the sentence shown in the book. ``attrs["suppressed"]`` lists the quantities
        hidden by the small-cell rule as ``(row, "quantity")``.
    """
    benchmarks = benchmarks if benchmarks is not None else load_benchmarks()
    rows, cells = [], []
    suppressed_text = f"suppressed (it rests on fewer than {min_cell} patients)"

    def hidden(values, key):
        return values is not None and key in values.get(SUPPRESSED_KEY, ())

    def add(limitation, could_do, quantity, unit, text, design, suppressed=False):
        if suppressed:
            cells.append((len(rows), "quantity"))
        rows.append(
            {
                "limitation": limitation,
                "could_do": could_do,
                "quantity": _float(quantity),
                "unit": unit,
                "by_how_much": text,
                "design_to_settle": design,
            }
        )

    # Placebo and expectancy: the largest published placebo-arm d as the plausible ceiling.
    q, text = None, suppressed_text if observed_suppressed else "not computed"
    if placebo is not None and len(placebo) and "in_benchmark_range" in placebo:
        bench = placebo[placebo["in_benchmark_range"].astype(bool)]
        if len(bench):
            row = bench.loc[bench["placebo_d"].astype(float).idxmax()]
            q = row["remaining_d"]
            text = (
                f"if the placebo response equalled the largest control-arm within-group d in the benchmarks "
                f"({row['placebo_d']:.2f}), d_av {_fmt(observed_d, 2)} would fall to {row['remaining_d']:.2f} "
                f"({_fmt(_float(row['pct_of_observed']), 0)}% of the observed)"
            )
    add(
        "no control group: placebo and expectancy response",
        "inflate",
        q,
        "d_av left over",
        text,
        "randomised trial against an active placebo (e.g. midazolam) with blinded outcome raters",
        q is None and observed_suppressed,
    )

    # Regression to the mean.
    q, text = None, "not computed"
    if rtm is not None:
        q = rtm["rtm_expected_change"]
        pct = pct_change_explained_by_rtm(q, observed_mean_change)
        of = (
            "the suppressed mean drop"
            if observed_suppressed
            else f"the {_fmt(observed_mean_change)}-point mean drop ({_fmt(pct, 0)}%)"
        )
        text = (
            f"{q:.1f} points of {of} if patients "
            f"entered at PCL-5 >= {rtm['entry_threshold']:g} from a population with mean "
            f"{rtm['population_mean']:g}, SD {rtm['population_sd']:g}, test-retest r {rtm['reliability']:g}"
        )
    add(
        "regression to the mean",
        "inflate",
        q,
        "PCL-5 points",
        text,
        "a second baseline PCL-5 after selection, or a concurrent comparison group selected the same way",
    )

    # Natural course and follow-up time.
    morina = _benchmark(benchmarks, "morina2014_untreated_remission")
    q, text = None, "days_between not available"
    if change_followup is not None and change_followup.get("difference") is not None:
        q = change_followup["difference"]
        text = (
            f"mean drop of completers followed more than {change_followup['split_days']:g} days minus the "
            f"rest: {q:+.1f} points ({ci_level:.0%} CI {_fmt(change_followup['ci_low'])} to "
            f"{_fmt(change_followup['ci_high'])})"
        )
    elif hidden(change_followup, "difference"):
        text = f"long against short follow-up: {suppressed_text}"
    elif change_followup is not None and change_followup.get("reason"):
        text = change_followup["reason"]
    if followup is not None and followup.get("median") is not None:
        text += f"; median follow-up {followup['median']:g} days"
        if followup.get("q1") is not None and followup.get("q3") is not None:
            text += f" (IQR {followup['q1']:g}-{followup['q3']:g})"
    period = _benchmark(benchmarks, "morina2014_observation_period")
    if morina is not None and morina["value"] is not None:
        text += f"; untreated PTSD remits in {morina['value']:g}%"
        if period is not None and period["value"] is not None:
            text += f" over a mean of {period['value']:g} months"
        text += " (Morina et al. 2014)"
    add(
        "natural course over the follow-up",
        "inflate",
        q,
        "PCL-5 points, long minus short follow-up",
        text,
        "waiting-list or treatment-as-usual arm assessed on the same schedule",
        hidden(change_followup, "difference"),
    )

    # Dropout.
    q, text = None, "not computed"
    if hidden(itt, "itt_mean_change"):
        text = suppressed_text
    elif itt is not None and itt.get("itt_mean_change") is not None and not itt["n_dropouts"]:
        q = 0.0
        text = (
            f"all {itt['n_patients']} patients in the file have a post score; patients who left before a "
            f"second assessment may never have become records"
        )
    elif itt is not None and itt.get("itt_mean_change") is not None:
        q = itt["completer_mean_change"] - itt["itt_mean_change"]
        text = (
            f"{itt['n_dropouts']} of {itt['n_patients']} patients have no post score; counting them as "
            f"unchanged lowers the mean drop from {itt['completer_mean_change']:.1f} to "
            f"{itt['itt_mean_change']:.1f} points"
        )
        if mi is not None and mi.get("mi_mean_change") is not None:
            text += (
                f"; multiple imputation from baseline gives {mi['mi_mean_change']:.1f} "
                f"({ci_level:.0%} CI {_fmt(mi['mi_ci_low'])} to {_fmt(mi['mi_ci_high'])})"
            )
        elif hidden(mi, "mi_mean_change"):
            text += f"; multiple imputation {suppressed_text}"
    add(
        "dropout (completer analysis)",
        "inflate",
        q,
        "PCL-5 points, completer minus ITT",
        text,
        "follow every patient who starts treatment and analyse by intention to treat, with reasons for leaving",
        hidden(itt, "itt_mean_change"),
    )

    # Representativeness.
    q, text, q_hidden = None, "not computed", False
    if represent is not None and len(represent):
        by = represent.reset_index(drop=True)
        cells_hidden = set(represent.attrs.get("suppressed", ()))
        row_of = {c: i for i, c in enumerate(by["characteristic"])}

        def share(characteristic, column):
            i = row_of[characteristic]
            if (i, column) in cells_hidden:
                return f"a {SUPPRESSED_TEXT} share"
            return f"{_fmt(_float(by.loc[i, column]), 0)}%"

        parts = []
        if "white" in row_of:
            q = _float(by.loc[row_of["white"], "cohort_pct_unreported"])
            q_hidden = (row_of["white"], "cohort_pct_unreported") in cells_hidden
            parts.append(f"race not reported for {share('white', 'cohort_pct_unreported')}")
        if "women" in row_of:
            parts.append(
                f"women {share('women', 'cohort_value')} of those reporting gender "
                f"(Osmind records {_fmt(_float(by.loc[row_of['women'], 'osmind_value']), 0)}% female)"
            )
        text = "; ".join(parts)
    add(
        "records of patients who reached treatment",
        "limit generalisation (direction unknown)",
        q,
        "% race unreported",
        text,
        "multi-site registry with consecutive enrolment and complete demographics",
        q_hidden,
    )

    # Multiplicity.
    q, text = None, "not computed"
    if tests is not None and len(tests):
        k = tests.attrs.get("k", int(tests["p_raw"].notna().sum()))
        alpha_fwer = tests.attrs.get("fwer_uncorrected")
        q = alpha_fwer
        raw = int((tests["significant_raw"] == True).sum())  # noqa: E712 (object column of True/False/None)
        holm = int((tests["significant_holm"] == True).sum())  # noqa: E712
        text = (
            f"{k} tests: chance of at least one false positive {100 * alpha_fwer:.0f}% uncorrected; "
            f"{raw} significant before and {holm} after Holm adjustment"
        )
    add(
        "many moderator tests",
        "create false-positive moderators",
        q,
        "family-wise error rate",
        text,
        "preregistered primary outcome and moderator hypotheses",
    )

    # Safety: what a record without adverse events cannot exclude.
    q, text = None, "no adverse-event data: harms cannot be assessed"
    if safety is not None and safety.get("upper_pct") is not None:
        q = safety["upper_pct"]
        text = (
            f"no adverse-event data; even a record of zero serious events in {safety['n']} patients would "
            f"leave a rate up to {q:.1f}% per patient compatible ({ci_level:.0%} upper bound)"
        )
    add(
        "safety and misuse not recorded",
        "hide harms",
        q,
        "% of patients, upper bound with zero events",
        text,
        "prospective adverse-event and substance-use monitoring with follow-up after the course",
    )

    # Self-report, unblinded.
    add(
        "self-reported, unblinded outcome",
        "inflate",
        None,
        None,
        "not quantifiable from these data: patients knew they received ketamine and rated themselves",
        "blinded clinician-rated CAPS-5 alongside the PCL-5",
    )
    out = _plain(pd.DataFrame(rows))
    out.attrs["suppressed"] = cells
    return out
