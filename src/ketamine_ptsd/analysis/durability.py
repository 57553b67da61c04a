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

from ketamine_ptsd.analysis import outcomes
from ketamine_ptsd.analysis.effects import t_interval
from ketamine_ptsd.parameters import DEFAULTS

#: Days in a month on average (365.25 / 12): months since ``post`` = days / this.
DAYS_PER_MONTH = 30.4375

#: statsmodels' optimisers for the mixed model, each tried: the default ``lbfgs`` can report convergence at a REML
#: log-likelihood well below the optimum that the others reach (PITFALLS), so the highest likelihood is kept.
_METHODS = ("lbfgs", "bfgs", "cg", "powell", "nm")
#: Largest absolute gradient of the REML log-likelihood accepted at the kept fit: at the optimum the gradient of
#: a good fit is about 1e-3 (bfgs, cg); fits that stopped early were 10 and above on the test fixtures.
GRADIENT_TOLERANCE = 0.05


def followups(cohort: pd.DataFrame, assessments: pd.DataFrame) -> pd.DataFrame:
    """Follow-up assessments of completers, with ``pcl5_pre`` and the patient's response at ``post``.

    Columns: ``patient_id``, ``days_after_post``, ``pcl5``, ``pcl5_pre``, ``pcl5_post``.
    """
    done = cohort.loc[cohort["pcl5_post"].notna(), ["patient_id", "pcl5_pre", "pcl5_post"]]
    later = assessments.loc[assessments["assessment"] == "followup", ["patient_id", "days_after_post", "pcl5"]]
    return later.merge(done, on="patient_id", how="inner")


def _responding(pcl5, pcl5_pre, response_fraction: float):
    """Whether a total ``pcl5`` still meets the contract's response against the patient's baseline."""
    return outcomes.response(pcl5_pre - pcl5, pcl5_pre, response_fraction)


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


def _post_treatment_totals(cohort, assessments) -> pd.DataFrame:
    """Every completer's ``post`` total (month 0) and their ``followup`` totals: the model's data (contract)."""
    done = cohort[cohort["pcl5_post"].notna()]
    f = followups(cohort, assessments)
    data = pd.concat(
        [
            pd.DataFrame({"patient_id": done["patient_id"], "days": 0.0, "pcl5": done["pcl5_post"]}),
            pd.DataFrame({"patient_id": f["patient_id"], "days": f["days_after_post"], "pcl5": f["pcl5"]}),
        ],
        ignore_index=True,
    ).astype({"patient_id": str, "days": float, "pcl5": float})
    return data.assign(months=data["days"] / DAYS_PER_MONTH)


def _gradient(model, result) -> float:
    """Largest absolute derivative of the REML log-likelihood at ``result`` (statsmodels' square-root
    parametrisation of the random-effects covariance, whose derivative vanishes at an optimum on the boundary too)."""
    parts = model.score_sqrt(result.params_object)
    return float(max(np.abs(np.asarray(p, float)).max(initial=0.0) for p in parts if p is not None))


def _fit(model, method: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: judged by the likelihood and the gradient
        try:
            result = model.fit(reml=True, method=method, **kw)
        except (np.linalg.LinAlgError, ValueError):
            return None
    return result if np.isfinite(result.llf) else None


def _best_fit(model):
    """(optimiser, fit, gradient): the fit with the highest REML log-likelihood over :data:`_METHODS`.

    A method's own convergence flag is not trusted: ``lbfgs`` can report convergence well below the optimum.
    A derivative-free method (Powell, Nelder-Mead) can stop near the optimum without reaching it: when the
    kept fit's gradient is not below :data:`GRADIENT_TOLERANCE`, BFGS goes on from it (``"powell, then bfgs"``).
    """
    fits = {method: fit for method in _METHODS if (fit := _fit(model, method)) is not None}
    if not fits:
        return None, None, None
    method = max(fits, key=lambda m: fits[m].llf)  # the first of _METHODS among equals
    best, gradient = fits[method], _gradient(model, fits[method])
    if gradient >= GRADIENT_TOLERANCE:
        refined = _fit(model, "bfgs", start_params=best.params_object)
        if refined is not None and refined.llf >= best.llf:
            return f"{method}, then bfgs", refined, _gradient(model, refined)
    return method, best, gradient


def slope(
    cohort, assessments, ci_level: float, min_patients: int = DEFAULTS["durability_random_slope_min_patients"]
) -> dict:
    """PCL-5 points per month after treatment: a linear mixed model fitted by REML at its optimum.

    ``pcl5 ~ months`` over every completer's ``post`` total (month 0; those without a follow-up inform the
    intercept) and their ``followup`` totals, with a random intercept per patient, and a random slope of months
    when at least ``min_patients`` patients have two or more of these totals (a follow-up) (below that a slope variance is
    not estimable with any stability). Every optimiser of :data:`_METHODS` is tried and the fit with the highest
    REML log-likelihood kept (:func:`_best_fit`); it is accepted when the gradient there is below
    :data:`GRADIENT_TOLERANCE`.

    Returns
    -------
    dict
        ``durability_slope_per_month``, ``durability_slope_ci_low``, ``durability_slope_ci_high`` (Wald
        interval at ``ci_level``), ``durability_slope_method`` (the optimiser kept),
        ``durability_slope_reml_criterion`` (-2 x the REML log-likelihood, as lme4's ``REMLcrit``),
        ``durability_slope_random_slope`` (whether the model has a random slope), ``n_patients`` (patients with
        a follow-up, so two or more totals),
        ``n_observations``, ``converged`` and ``gradient``. The estimates are ``None`` with fewer than two
        patients with follow-ups, or when no optimiser reaches an optimum.
    """
    data = _post_treatment_totals(cohort, assessments)
    totals = data.groupby("patient_id").size()
    followed = int((totals >= 2).sum())
    out = {
        **dict.fromkeys(SLOPE_KEYS),
        "n_patients": followed,
        "n_observations": len(data) if followed else 0,
        "converged": None,
        "gradient": None,
    }
    if followed < 2:
        return out
    import statsmodels.formula.api as smf

    random_slope = followed >= min_patients
    model = smf.mixedlm(
        "pcl5 ~ months", data, groups=data["patient_id"], re_formula="~months" if random_slope else None
    )
    method, result, gradient = _best_fit(model)
    out.update(converged=gradient is not None and gradient < GRADIENT_TOLERANCE, gradient=gradient)
    if not out["converged"]:
        return out
    low, high = result.conf_int(alpha=1 - ci_level).loc["months"]
    out.update(
        durability_slope_per_month=float(result.fe_params["months"]),
        durability_slope_ci_low=float(low),
        durability_slope_ci_high=float(high),
        durability_slope_method=method,
        durability_slope_reml_criterion=float(-2 * result.llf),
        durability_slope_random_slope=random_slope,
    )
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
            low, high = t_interval(float(values.mean()), float(stats.sem(values)), n - 1, ci_level)
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


#: The mixed model's keys of ``results.json``.
SLOPE_KEYS = (
    "durability_slope_per_month",
    "durability_slope_ci_low",
    "durability_slope_ci_high",
    "durability_slope_method",
    "durability_slope_reml_criterion",
    "durability_slope_random_slope",
)

#: The durability keys of ``results.json`` other than the window table, in the order the chapter lists them.
KEYS = (
    "n_with_followup",
    "n_followup_assessments",
    "durability_n_responders_followed",
    "durability_n_lost_response",
    "durability_median_days_to_loss",
    *SLOPE_KEYS,
    "durability_verdict",
)

#: The three verdicts on "sustained", by the slope's interval against the margin (:func:`verdict`).
VERDICTS = ("sustained", "worsening", "not enough data to tell")


def margin(durability_margin: float | None, mcid: float) -> float:
    """Worsening per month that still counts as sustained: the parameter, or by default ``mcid`` over a year
    (a clinically significant change would take more than twelve months to come back)."""
    return mcid / 12 if durability_margin is None else float(durability_margin)


def verdict(ci_low: float | None, ci_high: float | None, margin_per_month: float) -> str | None:
    """Sustained, worsening, or not enough data to tell, from the slope's interval (positive = worse).

    Sustained when the interval excludes a worsening of ``margin_per_month`` or more (its upper end is
    below the margin); worsening when it excludes no worsening at all (its lower end is above 0) and is not
    sustained; otherwise the data cannot tell. ``None`` without an interval.

    Examples
    --------
    >>> verdict(-5.1, 4.9, 0.83), verdict(-0.4, 0.5, 0.83), verdict(0.2, 1.9, 0.83)
    ('not enough data to tell', 'sustained', 'worsening')
    """
    if ci_low is None or ci_high is None:
        return None
    if ci_high < margin_per_month:
        return VERDICTS[0]
    return VERDICTS[1] if ci_low > 0 else VERDICTS[2]


def durability_values(
    cohort,
    assessments,
    response_fraction: float,
    ci_level: float,
    min_cell: int,
    margin_per_month: float = DEFAULTS["mcid"] / 12,
    min_patients: int = DEFAULTS["durability_random_slope_min_patients"],
) -> dict:
    """Every durability value of ``results.json`` but the window table (:data:`KEYS`), with the small-cell
    rule applied: all ``None`` without follow-up data; under ``"suppressed"`` the names the rule hid."""
    from .privacy import suppress

    f = followups(cohort, assessments)
    if f.empty:
        return {**dict.fromkeys(KEYS), "suppressed": []}
    times = loss_of_response(cohort, assessments, response_fraction)
    followed, lost = len(times), int(times["lost"].sum())
    fit = slope(cohort, assessments, ci_level, min_patients)
    n_with = int(f["patient_id"].nunique())
    values = {
        "n_with_followup": n_with,
        "n_followup_assessments": len(f),
        "durability_n_responders_followed": followed,
        "durability_n_lost_response": lost,
        "durability_median_days_to_loss": median_days_to_loss(times),
        **{k: fit[k] for k in SLOPE_KEYS},
        "durability_verdict": verdict(
            fit["durability_slope_ci_low"], fit["durability_slope_ci_high"], margin_per_month
        ),
    }
    # A count of lost responses also tells how many kept theirs; the median is one of the lost patients' days.
    sizes = {
        "n_with_followup": n_with,
        "n_followup_assessments": n_with,
        "durability_n_responders_followed": followed,
        "durability_n_lost_response": (lost, followed - lost),
        "durability_median_days_to_loss": (followed, lost),
        **{k: fit["n_patients"] for k in (*SLOPE_KEYS, "durability_verdict")},
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
