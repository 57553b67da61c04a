"""Probabilistic bias analysis of the mean change: how much of it the modelled biases do not explain.

Quantitative bias analysis (Lash, Fox & Fink 2009, *Applying Quantitative Bias Analysis to Epidemiologic
Data*) draws each bias from a distribution grounded in outside data, removes it from the observed
estimate, and repeats; the spread of what is left carries both the random error and the uncertainty about
the biases. Here, per draw:

1. random error: the completers' mean change ``M + SE * T`` with ``T`` Student's t on ``n - 1`` df, so with
   no bias the draws reproduce the t interval of the primary outcome;
2. dropouts not at random: a dropout's change is a fraction ``delta`` of the completers' mean, so the mean
   over everyone who started is ``M * (n_c + delta * n_d) / n`` (``delta`` = 0: no change, 1: missing at
   random, below 0: worse than before treatment); 0 without dropouts;
3. regression to the mean from the entry threshold ``c`` (Barnett et al. 2005):
   ``(1 - rho) * (E[X | X >= c] - mu)`` for a normal source population (mu, sigma), keeping only the
   (mu, sigma) drawn from their prior whose truncated normal gives back the cohort's baseline mean and SD
   within their sampling error (:func:`rtm_draws`);
4. placebo and expectancy response: a within-group d from the predictive distribution of a random-effects
   synthesis of the control arms of ``data/benchmarks.yml`` (:func:`placebo_prior`), in points through
   the SD the ``bias_sd`` parameter names.

What is left, ``unexplained = M_all - dropout - RTM - placebo``, is the change the modelled biases do not
explain, in points and in units of that SD; it is not an effect of ketamine, since biases the model leaves
out (unblinded self-report, natural course, concomitant treatment) are in it. Each bias has its own random
stream (spawned from ``seed``), so turning one off leaves the others' draws unchanged. A control arm's
within-group change already holds that trial's regression to the mean and natural course, so removing
both overstates the biases: the stacked steps and the "placebo only" row of :func:`sensitivity` show it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from ketamine_ptsd.analysis.privacy import suppress

#: Biases in the order they are removed, with how the chapter names them.
STEPS = {
    "random_error": "observed (random error only)",
    "dropout": "dropouts not at random",
    "rtm": "regression to the mean",
    "placebo": "placebo and expectancy response",
}

#: The SDs a within-group d can be turned into points with (parameter ``bias_sd``): the completers' d_av
#: denominator, sqrt((SD_pre^2 + SD_post^2) / 2), the paper's d; or their baseline SD.
SD_CHOICES = {"d_av": "the d_av denominator (both SDs)", "pcl5_pre": "the baseline SD"}

#: Instruments whose control arms enter the placebo synthesis: PTSD severity scales of DSM-5.
PLACEBO_INSTRUMENTS = ("PCL-5", "CAPS-5")

#: Candidate (mu, sigma) pairs drawn per batch, as a multiple of the draws, and the most batches tried
#: before the prior is declared not to reproduce the baselines.
_RTM_BATCH, _RTM_MAX_BATCHES = 20, 50

#: The build parameters :func:`bias_analysis` reads (a notebook declares them and passes them on).
PARAMETERS = (
    "bias_draws",
    "bias_seed",
    "bias_placebo_pcl5_only",
    "bias_sd",
    "bias_reliability_low",
    "bias_reliability_high",
    "bias_population_mean_low",
    "bias_population_mean_high",
    "bias_population_sd_low",
    "bias_population_sd_high",
    "bias_dropout_delta_low",
    "bias_dropout_delta_high",
    "bias_sensitivity_reliability_low",
    "bias_sensitivity_reliability_high",
    "rtm_entry_threshold",
    "mcid",
    "ci_level",
)

#: The summary keys, and the deprecated names that publish the same values (issue 22).
SUMMARY_KEYS = tuple(
    f"bias_unexplained_{kind}_{stat}" for kind in ("change", "d") for stat in ("median", "low", "high")
)
DEPRECATED = {key.replace("unexplained", "attributable"): key for key in SUMMARY_KEYS}


def within_d_variance(d: np.ndarray | float, n: np.ndarray | float) -> np.ndarray | float:
    """Large-sample variance of a within-group standardised change from ``n`` patients, ``1/n + d^2/(2n)``
    (Borenstein et al. 2009, eq. 4.28, with the pre-post correlation 0.5 used when a trial reports none)."""
    return 1 / n + np.square(d) / (2 * n)


def placebo_arms(benchmarks: Sequence[Mapping], pcl5_only: bool) -> pd.DataFrame:
    """Every control arm of the benchmarks with a within-group change on the PCL-5 or CAPS-5 (PCL-5 only
    with ``pcl5_only``), one row each: ``id, label, instrument, d, n, n_assumed, variance, usable, source``.

    ``d`` is None where the source gives no within-group change (``usable`` False; the arm is listed so
    the chapter can say so). ``n`` is the arm's size, or half its trial's when the source gives only the
    trial's (two arms, equal allocation assumed: ``n_assumed``); ``variance`` is :func:`within_d_variance`.
    """
    rows = []
    for b in benchmarks:
        if b["measure"] != "within_group_d" or b["arm_kind"] != "control" or b["instrument"] not in PLACEBO_INSTRUMENTS:
            continue
        if pcl5_only and b["instrument"] != "PCL-5":
            continue
        assumed = b["n_arm"] is None and b["n"] is not None
        n = b["n"] / 2 if assumed else b["n_arm"]
        d = None if b["value"] is None else float(b["value"])
        usable = d is not None and n is not None
        rows.append(
            {
                "id": b["id"],
                "label": b["label"],
                "instrument": b["instrument"],
                "d": d,
                "n": None if n is None else float(n),
                "n_assumed": assumed,
                "variance": float(within_d_variance(d, n)) if usable else None,
                "usable": usable,
                "source": b["source"],
            }
        )
    columns = ["id", "label", "instrument", "d", "n", "n_assumed", "variance", "usable", "source"]
    return pd.DataFrame(rows, columns=columns).astype(object)


def placebo_prior(arms: pd.DataFrame) -> dict | None:
    """Random-effects synthesis of the usable arms (statsmodels' ``combine_effects``, Paule-Mandel tau^2)
    and its predictive distribution for a new setting: ``k``, ``mean``, ``se`` (of the mean), ``tau2`` and
    ``predictive_sd = sqrt(se^2 + tau2)`` (Higgins, Thompson & Spiegelhalter 2009). None without arms.

    With one arm tau^2 cannot be estimated and is 0; with few, its estimate is imprecise.
    """
    usable = arms[arms["usable"].astype(bool)]
    if usable.empty:
        return None
    d = usable["d"].to_numpy(dtype=float)
    v = usable["variance"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        # One arm: statsmodels divides by k - 1 = 0 for statistics the prior does not use.
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = combine_effects(d, v, method_re="iterated")
    tau2 = float(fit.tau2) if len(d) > 1 else 0.0
    se = math.sqrt(float(fit.var_eff_w_re))
    return {
        "k": len(d),
        "mean": float(fit.mean_effect_re),
        "se": se,
        "tau2": tau2,
        "predictive_sd": math.sqrt(se**2 + tau2),
    }


def truncated_moments(mu: np.ndarray, sigma: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD of a normal (``mu``, ``sigma``) truncated below at ``threshold``: with a = (c - mu) / sigma
    and lambda = phi(a) / (1 - Phi(a)), mean = mu + sigma lambda and SD = sigma sqrt(1 + a lambda - lambda^2)."""
    a = (threshold - mu) / sigma
    lam = np.exp(stats.norm.logpdf(a) - stats.norm.logsf(a))
    return mu + sigma * lam, sigma * np.sqrt(np.maximum(1 + a * lam - lam**2, 0))


def rtm_draws(
    rng: np.random.Generator,
    *,
    pre_mean: float,
    pre_sd: float,
    n: int,
    entry_threshold: float,
    reliability: tuple[float, float],
    population_mean: tuple[float, float],
    population_sd: tuple[float, float],
    ci_level: float,
    draws: int,
) -> dict | None:
    """``draws`` draws of regression to the mean (points) whose source population fits the baselines.

    (mu, sigma) are drawn uniformly over their ranges and kept only when the normal truncated at
    ``entry_threshold`` has a mean within ``z SE`` of ``pre_mean`` (SE = pre_sd / sqrt(n)) and an SD within
    ``z SE`` of ``pre_sd`` (SE = pre_sd / sqrt(2 (n - 1))), z the normal quantile of ``ci_level``; the
    reliability is uniform over its range. Returns ``rtm``, ``mu``, ``sigma`` (arrays of ``draws``) and
    ``accepted`` (share of candidate pairs kept), or None when no batch of candidates fits.
    """
    rho = rng.uniform(*reliability, draws)
    z = stats.norm.ppf((1 + ci_level) / 2)
    mean_tol, sd_tol = z * pre_sd / math.sqrt(n), z * pre_sd / math.sqrt(2 * (n - 1))
    kept_mu, kept_sigma, tried, kept = [], [], 0, 0
    for _ in range(_RTM_MAX_BATCHES):
        mu = rng.uniform(*population_mean, _RTM_BATCH * draws)
        sigma = rng.uniform(*population_sd, _RTM_BATCH * draws)
        mean, sd = truncated_moments(mu, sigma, entry_threshold)
        fits = (np.abs(mean - pre_mean) <= mean_tol) & (np.abs(sd - pre_sd) <= sd_tol)
        kept_mu.append(mu[fits])
        kept_sigma.append(sigma[fits])
        tried, kept = tried + mu.size, kept + int(fits.sum())
        if kept >= draws:
            break
    if kept < draws:
        return None
    mu, sigma = np.concatenate(kept_mu)[:draws], np.concatenate(kept_sigma)[:draws]
    mean, _ = truncated_moments(mu, sigma, entry_threshold)
    return {"rtm": (1 - rho) * (mean - mu), "mu": mu, "sigma": sigma, "accepted": kept / tried}


def draw_biases(
    *,
    mean_change: float,
    change_sd: float,
    n_completers: int,
    n_patients: int,
    sd: float,
    placebo: Mapping | None,
    rtm: np.ndarray | None,
    dropout_delta: tuple[float, float],
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """``draws`` Monte Carlo draws of each bias and of what is left, one row per draw.

    ``placebo``: :func:`placebo_prior` (None: no placebo step); ``rtm``: regression-to-the-mean draws in
    points (:func:`rtm_draws`; None: no such step); ``dropout_delta``: the uniform range of delta; ``sd``
    turns the placebo d into points. Columns: ``observed`` (M + SE T), ``dropout``, ``rtm``, ``placebo``
    (points each bias removes, positive = it inflated the change) and ``unexplained`` (points).
    """
    if n_completers < 2 or not change_sd > 0:
        raise ValueError("the bias analysis needs at least two completers whose change varies")
    streams = bias_streams(seed)
    se = change_sd / math.sqrt(n_completers)
    observed = mean_change + se * streams["random_error"].standard_t(n_completers - 1, draws)
    n_dropouts = n_patients - n_completers
    delta = streams["dropout"].uniform(*dropout_delta, draws)
    # What the dropouts' change, a fraction delta of the completers', takes off the mean over everyone.
    dropout = observed * (1 - delta) * n_dropouts / n_patients
    rtm = np.zeros(draws) if rtm is None else np.asarray(rtm, dtype=float)
    if placebo is None:
        points = np.zeros(draws)
    else:
        points = sd * streams["placebo"].normal(placebo["mean"], placebo["predictive_sd"], draws)
    return pd.DataFrame(
        {
            "observed": observed,
            "dropout": dropout,
            "rtm": rtm,
            "placebo": points,
            "unexplained": observed - dropout - rtm - points,
        }
    )


def bias_streams(seed: int) -> dict[str, np.random.Generator]:
    """One random stream per bias, spawned from ``seed``: changing one bias leaves the others' draws."""
    return dict(zip(STEPS, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STEPS)))))


def _interval(values: np.ndarray, ci_level: float) -> tuple[float, float, float]:
    low, median, high = np.quantile(values, [(1 - ci_level) / 2, 0.5, (1 + ci_level) / 2])
    return float(median), float(low), float(high)


def summarise(draws: pd.DataFrame, sd: float, mcid: float, ci_level: float) -> dict:
    """The change the modelled biases do not explain: median and simulation interval at ``ci_level`` in
    points and in units of ``sd``, and the probability that it is above 0 and at least ``mcid`` points
    (shares of the draws, 0-1)."""
    left = draws["unexplained"].to_numpy()
    values = [*_interval(left, ci_level), *_interval(left / sd, ci_level)]
    return dict(zip(SUMMARY_KEYS, values)) | {
        "bias_prob_above_zero": float(np.mean(left > 0)),
        "bias_prob_above_mcid": float(np.mean(left >= mcid)),
    }


def tipping_points(draws: pd.DataFrame, sd: float, mcid: float) -> dict:
    """The placebo response, fixed instead of drawn, at which the median change left reaches 0 and ``mcid``.

    A fixed placebo response p (points) shifts every draw by p, so the median left is
    ``median(observed - dropout - rtm) - p``: it reaches 0 at p = that median and ``mcid`` at p = that
    median - mcid. In d, p / ``sd``. Negative: the other biases alone already take it below.
    """
    before = float(np.median(draws["observed"] - draws["dropout"] - draws["rtm"]))
    return {
        "bias_tipping_placebo_points_zero": before,
        "bias_tipping_placebo_points_mcid": before - mcid,
        "bias_tipping_placebo_d_zero": before / sd,
        "bias_tipping_placebo_d_mcid": (before - mcid) / sd,
    }


STACKED_COLUMNS = ("step", "label", "median", "low", "high", "bias_median", "bias_low", "bias_high")


def stacked(draws: pd.DataFrame, ci_level: float) -> pd.DataFrame:
    """The change left after removing the biases one by one, in :data:`STEPS` order, and each bias alone.

    Columns ``step, label, median, low, high`` (what is left after this and every earlier step) and
    ``bias_median, bias_low, bias_high`` (the points this step removes; None for the first row).
    """
    left = draws["observed"].to_numpy()
    rows = []
    for step, label in STEPS.items():
        removed = None if step == "random_error" else draws[step].to_numpy()
        if removed is not None:
            left = left - removed
        median, low, high = _interval(left, ci_level)
        bias = (None, None, None) if removed is None else _interval(removed, ci_level)
        rows.append(dict(zip(STACKED_COLUMNS, (step, label, median, low, high, *bias))))
    return pd.DataFrame(rows, columns=list(STACKED_COLUMNS))


SENSITIVITY_COLUMNS = (
    "scenario",
    "change_median",
    "change_low",
    "change_high",
    "d_median",
    "prob_above_zero",
    "prob_above_mcid",
    "note",
)


#: The sensitivity table's columns taken from :func:`summarise`.
_SENSITIVITY_FROM_SUMMARY = {
    "change_median": "bias_unexplained_change_median",
    "change_low": "bias_unexplained_change_low",
    "change_high": "bias_unexplained_change_high",
    "d_median": "bias_unexplained_d_median",
    "prob_above_zero": "bias_prob_above_zero",
    "prob_above_mcid": "bias_prob_above_mcid",
}


def _cohort_numbers(cohort: pd.DataFrame) -> dict | None:
    pre = pd.to_numeric(cohort["pcl5_pre"]).to_numpy(dtype="float64", na_value=np.nan)
    post = pd.to_numeric(cohort["pcl5_post"]).to_numpy(dtype="float64", na_value=np.nan)
    pre, post = pre[~np.isnan(pre)], post[~np.isnan(pre)]
    done = ~np.isnan(post)
    change = pre[done] - post[done]
    if done.sum() < 2 or change.std(ddof=1) == 0:
        return None
    return {
        "mean_change": float(change.mean()),
        "change_sd": float(change.std(ddof=1)),
        "n_completers": int(done.sum()),
        "n_patients": int(pre.size),
        "pre_mean": float(pre[done].mean()),
        "pre_sd": float(pre[done].std(ddof=1)),
        "sds": {
            "d_av": math.sqrt((pre[done].var(ddof=1) + post[done].var(ddof=1)) / 2),
            "pcl5_pre": float(pre[done].std(ddof=1)),
        },
    }


def _rtm(numbers: dict, params: Mapping, reliability: tuple[float, float]) -> dict | None:
    return rtm_draws(
        bias_streams(int(params["bias_seed"]))["rtm"],
        pre_mean=numbers["pre_mean"],
        pre_sd=numbers["pre_sd"],
        n=numbers["n_completers"],
        entry_threshold=params["rtm_entry_threshold"],
        reliability=reliability,
        population_mean=(params["bias_population_mean_low"], params["bias_population_mean_high"]),
        population_sd=(params["bias_population_sd_low"], params["bias_population_sd_high"]),
        ci_level=params["ci_level"],
        draws=int(params["bias_draws"]),
    )


def _draws(numbers: dict, params: Mapping, placebo: Mapping | None, rtm: Mapping | None, sd: float) -> pd.DataFrame:
    return draw_biases(
        mean_change=numbers["mean_change"],
        change_sd=numbers["change_sd"],
        n_completers=numbers["n_completers"],
        n_patients=numbers["n_patients"],
        sd=sd,
        placebo=placebo,
        rtm=None if rtm is None else rtm["rtm"],
        dropout_delta=(params["bias_dropout_delta_low"], params["bias_dropout_delta_high"]),
        draws=int(params["bias_draws"]),
        seed=int(params["bias_seed"]),
    )


def sensitivity(numbers: dict, benchmarks: Sequence[Mapping], params: Mapping, main: dict) -> pd.DataFrame:
    """The result under each alternative to the specified priors, one row each (:data:`SENSITIVITY_COLUMNS`):
    as specified; placebo only (a control arm's change already holds its trial's regression to the mean);
    PCL-5 control arms only; the other SD choice; the wide reliability range. Same seed, so rows differ
    only by the alternative; ``d_median`` is in units of the row's SD. A row that cannot be computed has
    None and says why in ``note``.
    """
    sd_name = params["bias_sd"]
    wide = (params["bias_sensitivity_reliability_low"], params["bias_sensitivity_reliability_high"])
    no_fit = "no source population in the prior reproduces the cohort's baseline mean and SD"
    # (scenario, placebo prior, regression-to-the-mean draws, SD choice, why it cannot be computed)
    scenarios = [
        ("as specified", main["placebo"], main["rtm"], sd_name, None),
        ("placebo only, no regression-to-the-mean step", main["placebo"], None, sd_name, None),
    ]
    pcl5 = placebo_prior(placebo_arms(benchmarks, True))
    missing = None if pcl5 else "no PCL-5 control arm with a within-group change in data/benchmarks.yml"
    scenarios.append(("PCL-5 control arms only", pcl5, main["rtm"], sd_name, missing))
    scenarios += [
        (f"placebo d in points through {label}", main["placebo"], main["rtm"], name, None)
        for name, label in SD_CHOICES.items()
        if name != sd_name
    ]
    rtm_wide = _rtm(numbers, params, wide)
    why_not = no_fit if rtm_wide is None else None
    scenarios.append((f"reliability {wide[0]:g} to {wide[1]:g}", main["placebo"], rtm_wide, sd_name, why_not))
    rows = []
    for scenario, placebo, rtm, sd_choice, why_not in scenarios:
        row = dict.fromkeys(SENSITIVITY_COLUMNS) | {"scenario": scenario, "note": why_not or ""}
        if why_not is None:
            sd = numbers["sds"][sd_choice]
            s = summarise(_draws(numbers, params, placebo, rtm, sd), sd, params["mcid"], params["ci_level"])
            row |= {column: s[key] for column, key in _SENSITIVITY_FROM_SUMMARY.items()}
        rows.append(row)
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS)).astype(object)


#: Every key :func:`bias_analysis` returns besides the tables, None where it cannot be computed.
KEYS = (
    *SUMMARY_KEYS,
    "bias_prob_above_zero",
    "bias_prob_above_mcid",
    "bias_tipping_placebo_d_zero",
    "bias_tipping_placebo_d_mcid",
    "bias_tipping_placebo_points_zero",
    "bias_tipping_placebo_points_mcid",
    "bias_placebo_n_arms",
    "bias_placebo_prior_mean",
    "bias_placebo_prior_sd",
    "bias_placebo_tau2",
    "bias_rtm_accepted_share",
    "bias_sd_points",
    "bias_n_dropouts",
)


def bias_analysis(
    cohort: pd.DataFrame,
    benchmarks: Sequence[Mapping],
    params: Mapping,
    min_cell: int,
) -> dict:
    """The chapter's bias analysis from the cohort, the benchmarks and the build's parameters.

    ``params`` holds the build parameters of :data:`PARAMETERS`. Returns :data:`KEYS` (the summary of
    :func:`summarise`, :func:`tipping_points`, the placebo prior, the share of source populations kept,
    the SD in points and the number of dropouts), the same summary under the deprecated
    ``bias_attributable_*`` names (:data:`DEPRECATED`), ``bias_draws`` and ``bias_seed``; the tables
    ``stacked`` (:func:`stacked`), ``sensitivity`` (:func:`sensitivity`), ``arms`` (:func:`placebo_arms`)
    and ``draws`` (None when not computed); ``reason`` (why nothing was computed, else None) and
    ``suppressed``: the results rest on the completers and, through the dropout step, on the dropouts; with
    1 to ``min_cell - 1`` of either, every result is suppressed (the tables emptied).
    """
    arms = placebo_arms(benchmarks, bool(params["bias_placebo_pcl5_only"]))
    out = {"bias_draws": params["bias_draws"], "bias_seed": params["bias_seed"], "arms": arms}
    empty = {
        "stacked": pd.DataFrame(columns=list(STACKED_COLUMNS)),
        "sensitivity": pd.DataFrame(columns=list(SENSITIVITY_COLUMNS)),
        "draws": None,
        "suppressed": [],
    }
    numbers = _cohort_numbers(cohort)
    placebo = placebo_prior(arms)
    reason = None
    if numbers is None:
        reason = "it needs at least two completers whose change varies"
    elif placebo is None:
        reason = "no control arm of data/benchmarks.yml has a usable within-group change on the scales asked for"
    rtm = None if reason else _rtm(numbers, params, (params["bias_reliability_low"], params["bias_reliability_high"]))
    if reason is None and rtm is None:
        reason = "no source population in the prior reproduces the cohort's baseline mean and SD"
    if reason:
        return out | dict.fromkeys(KEYS) | dict.fromkeys(DEPRECATED) | empty | {"reason": reason}
    sd = numbers["sds"][params["bias_sd"]]
    draws = _draws(numbers, params, placebo, rtm, sd)
    result = summarise(draws, sd, params["mcid"], params["ci_level"]) | tipping_points(draws, sd, params["mcid"])
    result |= {
        "bias_placebo_n_arms": placebo["k"],
        "bias_placebo_prior_mean": placebo["mean"],
        "bias_placebo_prior_sd": placebo["predictive_sd"],
        "bias_placebo_tau2": placebo["tau2"],
        "bias_rtm_accepted_share": rtm["accepted"],
        "bias_sd_points": sd,
        "bias_n_dropouts": numbers["n_patients"] - numbers["n_completers"],
    }
    sizes = (numbers["n_completers"], numbers["n_patients"] - numbers["n_completers"])
    result = suppress(result, dict.fromkeys(result, sizes), min_cell)
    result |= {old: result[new] for old, new in DEPRECATED.items()}
    result["suppressed"] += [old for old, new in DEPRECATED.items() if new in result["suppressed"]]
    tables = {
        "stacked": stacked(draws, params["ci_level"]),
        "sensitivity": sensitivity(numbers, benchmarks, params, {"placebo": placebo, "rtm": rtm}),
        "draws": draws,
    }
    if result["suppressed"]:
        tables = {name: empty[name] for name in tables}
    return out | result | tables | {"reason": None}
