"""Does it last? PCL-5 after the end of treatment, from the later assessments of a clinic export.

The definitions are the data contract's ("Durability definitions"): follow-up windows in days after
``post``; a patient contributes to a window their last ``followup`` in it; a responder at ``post`` has lost
the response at the first ``followup`` whose change from ``pcl5_pre`` falls below ``response_fraction`` of
``pcl5_pre``; months since ``post`` are days / 30.4375. Every function takes the validated cohort and the
later-assessments table (:func:`ketamine_ptsd.data.long.later_assessments`); without follow-ups they return
``None`` where a value needs them. The small-cell rule is applied by the callers' :mod:`.privacy` helpers,
with the group sizes these functions return.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: Days in a month on average (365.25 / 12): months since ``post`` = days / this.
DAYS_PER_MONTH = 30.4375

#: Optimisers tried in turn for the mixed model: statsmodels' default can stop unconverged with a slope
#: several percent off (PITFALLS); Nelder-Mead and Powell then usually converge.
_METHODS = ("lbfgs", "nm", "powell")


def followups(cohort: pd.DataFrame, assessments: pd.DataFrame) -> pd.DataFrame:
    """Follow-up assessments of completers, with ``pcl5_pre`` and the patient's response at ``post``.

    Columns: ``patient_id``, ``days_after_post``, ``pcl5``, ``pcl5_pre``, ``pcl5_post``.
    """
    done = cohort.loc[cohort["pcl5_post"].notna(), ["patient_id", "pcl5_pre", "pcl5_post"]]
    later = assessments.loc[assessments["assessment"] == "followup", ["patient_id", "days_after_post", "pcl5"]]
    return later.merge(done, on="patient_id", how="inner")


def _responding(pcl5, pcl5_pre, response_fraction: float):
    return (pcl5_pre - pcl5) >= response_fraction * pcl5_pre


def windows(edges) -> list[tuple[int, int]]:
    """``[30, 90]`` -> ``[(0, 30), (30, 90)]``: the windows (start, end] in days after ``post``."""
    edges = [0, *edges]
    return list(zip(edges[:-1], edges[1:]))


def _last_in_each_window(f: pd.DataFrame, edges):
    """(start, end, each patient's last follow-up in (start, end]) for every window."""
    for start, end in windows(edges):
        inside = f[(f["days_after_post"] > start) & (f["days_after_post"] <= end)]
        yield start, end, inside.sort_values("days_after_post", kind="stable").groupby("patient_id").tail(1)


def by_window(cohort, assessments, edges, response_fraction: float) -> pd.DataFrame:
    """PCL-5 and maintained response per follow-up window.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``window_start``, ``window_end`` (days after ``post``, the window is
        (start, end]), ``n`` (patients with a follow-up in it), ``mean_pcl5`` (of their last follow-up in
        it), ``n_responders`` (of them, responders at ``post``), ``pct_response_maintained`` (of those, the
        percentage still responding at that follow-up; ``None`` without responders).
    """
    rows = []
    for start, end, last in _last_in_each_window(followups(cohort, assessments), edges):
        responders = last[_responding(last["pcl5_post"], last["pcl5_pre"], response_fraction)]
        kept = _responding(responders["pcl5"], responders["pcl5_pre"], response_fraction)
        rows.append(
            {
                "window_start": start,
                "window_end": end,
                "n": len(last),
                "mean_pcl5": float(last["pcl5"].mean()) if len(last) else None,
                "n_responders": len(responders),
                "pct_response_maintained": 100 * float(kept.mean()) if len(responders) else None,
            }
        )
    return pd.DataFrame(rows)


def loss_of_response(cohort, assessments, response_fraction: float) -> pd.DataFrame:
    """Time to loss of response of each responder at ``post`` who has a follow-up.

    Returns one row per such patient: ``days`` (to the first follow-up below the response threshold, or
    to the last follow-up when the response held: censored) and ``lost`` (True = the response was lost).
    """
    f = followups(cohort, assessments)
    f = f[_responding(f["pcl5_post"], f["pcl5_pre"], response_fraction)].sort_values(
        ["patient_id", "days_after_post"], kind="stable"
    )
    f = f.assign(lost=~_responding(f["pcl5"], f["pcl5_pre"], response_fraction))
    first_loss = f[f["lost"]].groupby("patient_id")["days_after_post"].min()
    last = f.groupby("patient_id")["days_after_post"].max()
    out = pd.DataFrame({"days": last.astype(float), "lost": False})
    out.loc[first_loss.index, "days"] = first_loss.astype(float)
    out.loc[first_loss.index, "lost"] = True
    return out.reset_index(drop=True)


def kaplan_meier(times: pd.DataFrame):
    """Kaplan-Meier estimate of time to loss of response (statsmodels ``SurvfuncRight``), or ``None``."""
    if times.empty:
        return None
    from statsmodels.duration.survfunc import SurvfuncRight

    return SurvfuncRight(times["days"].to_numpy(float), times["lost"].to_numpy(int))


def median_days_to_loss(times: pd.DataFrame) -> float | None:
    """Kaplan-Meier median days to loss of response: the first time the curve falls below 0.5 (statsmodels'
    convention, as SAS); ``None`` when it never does."""
    survival = kaplan_meier(times)
    if survival is None:
        return None
    median = survival.quantile(0.5)
    return None if np.isnan(median) else float(median)


def slope(cohort, assessments, ci_level: float) -> dict:
    """PCL-5 points per month after treatment: linear mixed model with a random intercept and slope.

    ``pcl5 ~ months`` over completers' ``post`` (month 0) and ``followup`` totals, random intercept and
    random slope of months per patient, REML (statsmodels ``MixedLM``). An optimiser that stops unconverged
    is replaced by the next of :data:`_METHODS`.

    Returns
    -------
    dict
        ``durability_slope_per_month``, ``durability_slope_ci_low``, ``durability_slope_ci_high`` (Wald
        interval at ``ci_level``), ``n_patients`` (patients with a follow-up), ``n_observations``,
        ``converged``, ``method``; the estimates are ``None`` with fewer than two patients with follow-ups
        or when no optimiser converges.
    """
    f = followups(cohort, assessments)
    followed = f["patient_id"].unique()
    posts = cohort[cohort["patient_id"].isin(followed)]
    data = pd.concat(
        [
            pd.DataFrame({"patient_id": posts["patient_id"], "days": 0.0, "pcl5": posts["pcl5_post"]}),
            pd.DataFrame({"patient_id": f["patient_id"], "days": f["days_after_post"], "pcl5": f["pcl5"]}),
        ],
        ignore_index=True,
    ).astype({"patient_id": str, "days": float, "pcl5": float})
    data["months"] = data["days"] / DAYS_PER_MONTH
    out = {
        "durability_slope_per_month": None,
        "durability_slope_ci_low": None,
        "durability_slope_ci_high": None,
        "n_patients": len(followed),
        "n_observations": len(data) if len(followed) else 0,
        "converged": None,
        "method": None,
    }
    if len(followed) < 2:
        return out
    import statsmodels.formula.api as smf

    model = smf.mixedlm("pcl5 ~ months", data, groups=data["patient_id"], re_formula="~months")
    for method in _METHODS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: checked through result.converged
            try:
                result = model.fit(reml=True, method=method)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if result.converged:
            low, high = result.conf_int(alpha=1 - ci_level).loc["months"]
            out.update(
                durability_slope_per_month=float(result.fe_params["months"]),
                durability_slope_ci_low=float(low),
                durability_slope_ci_high=float(high),
                converged=True,
                method=method,
            )
            return out
    out["converged"] = False
    return out


def trajectory(cohort, assessments, edges, ci_level: float) -> pd.DataFrame:
    """Mean PCL-5 with its t interval from before treatment to the last follow-up window.

    Rows: ``before treatment`` (every patient), ``interim`` (each patient's last interim assessment, when
    any), ``after treatment`` (completers), then one row per follow-up window (each patient's last
    follow-up in it). Columns ``time``, ``n``, ``mean``, ``ci_low``, ``ci_high``.
    """
    from scipy import stats

    def row(time, values):
        values = pd.Series(values, dtype=float).dropna()
        n = len(values)
        low = high = None
        if n >= 2:
            low, high = stats.t.interval(ci_level, n - 1, loc=values.mean(), scale=stats.sem(values))
            low, high = float(low), float(high)
        return {
            "time": time,
            "n": n,
            "mean": float(values.mean()) if n else None,
            "ci_low": low,
            "ci_high": high,
        }

    interim = assessments[assessments["assessment"] == "interim"].groupby("patient_id")["pcl5"].last()
    rows = [row("before treatment", cohort["pcl5_pre"])]
    if len(interim):
        rows.append(row("interim", interim))
    rows.append(row("after treatment", cohort["pcl5_post"]))
    for start, end, last in _last_in_each_window(followups(cohort, assessments), edges):
        rows.append(row(f"{start}-{end} days after", last["pcl5"]))
    return pd.DataFrame(rows)


#: The durability keys of ``results.json`` other than the window table, in the order the chapter lists them.
KEYS = (
    "n_with_followup",
    "n_followup_assessments",
    "durability_n_responders_followed",
    "durability_n_lost_response",
    "durability_median_days_to_loss",
    "durability_slope_per_month",
    "durability_slope_ci_low",
    "durability_slope_ci_high",
)


def durability_values(cohort, assessments, response_fraction: float, ci_level: float, min_cell: int) -> dict:
    """Every durability value of ``results.json`` but the window table (:data:`KEYS`), with the small-cell
    rule applied: all ``None`` without follow-up data; under ``"suppressed"`` the names the rule hid."""
    from .privacy import suppress

    f = followups(cohort, assessments)
    if f.empty:
        return {**dict.fromkeys(KEYS), "suppressed": []}
    times = loss_of_response(cohort, assessments, response_fraction)
    followed, lost = len(times), int(times["lost"].sum())
    fit = slope(cohort, assessments, ci_level)
    n_with = int(f["patient_id"].nunique())
    values = {
        "n_with_followup": n_with,
        "n_followup_assessments": len(f),
        "durability_n_responders_followed": followed,
        "durability_n_lost_response": lost,
        "durability_median_days_to_loss": median_days_to_loss(times),
        **{k: fit[k] for k in KEYS[5:]},
    }
    # A count of lost responses also tells how many kept theirs; the median is one of the lost patients' days.
    sizes = {
        "n_with_followup": n_with,
        "n_followup_assessments": n_with,
        "durability_n_responders_followed": followed,
        "durability_n_lost_response": (lost, followed - lost),
        "durability_median_days_to_loss": (followed, lost),
        **{k: fit["n_patients"] for k in KEYS[5:]},
    }
    return suppress(values, sizes, min_cell)


def window_table(cohort, assessments, edges, response_fraction: float, min_cell: int) -> pd.DataFrame | None:
    """:func:`by_window` with the small-cell rule applied (cells ``None``, listed in ``attrs["suppressed"]``):
    a window of 1 to ``min_cell - 1`` patients, or a share of that few responders; ``None`` without follow-ups."""
    from .privacy import row_sizes, suppress_cells

    if followups(cohort, assessments).empty:
        return None
    table = by_window(cohort, assessments, edges, response_fraction)
    cells = row_sizes(table, "n", ["n", "mean_pcl5", "n_responders", "pct_response_maintained"])
    for i, k in enumerate(table["n_responders"]):
        cells[(i, "n_responders")] += (int(k),)
        cells[(i, "pct_response_maintained")] += (int(k),)
    return suppress_cells(table, cells, min_cell)


def trajectory_table(cohort, assessments, edges, ci_level: float, min_cell: int) -> pd.DataFrame:
    """:func:`trajectory` with the rows of 1 to ``min_cell - 1`` patients suppressed."""
    from .privacy import row_sizes, suppress_cells

    table = trajectory(cohort, assessments, edges, ci_level)
    return suppress_cells(table, row_sizes(table, "n", ["n", "mean", "ci_low", "ci_high"]), min_cell)
