"""Probabilistic bias analysis of the mean change: how much of it is left for ketamine.

Quantitative bias analysis (Lash, Fox & Fink 2009, *Applying Quantitative Bias Analysis to Epidemiologic
Data*) draws each bias from a distribution grounded in outside data, removes it from the observed
estimate, and repeats; the spread of what is left carries both the random error and the uncertainty about
the biases. Here, per draw:

1. random error: the completers' mean change ``M + SE * T`` with ``T`` Student's t on ``n - 1`` df, so with
   no bias the draws reproduce the t interval of the primary outcome;
2. dropouts not at random: a dropout's change is a fraction ``delta`` of the completers' mean, so the mean
   over everyone who started is ``M * (n_c + delta * n_d) / n`` (``delta`` = 0 is the ITT bound, 1 missing
   at random);
3. regression to the mean from the entry threshold (Barnett et al. 2005; the same maths as
   :func:`ketamine_ptsd.analysis.limitations.rtm_expected_change`), with the test-retest reliability, the
   population mean and SD drawn uniformly over their ranges;
4. placebo and expectancy response: a within-group d drawn uniformly between the smallest and the largest
   control arm of ``data/benchmarks.yml`` (optionally PCL-5 arms only), in points through the completers'
   d_av denominator ``sqrt((SD_pre^2 + SD_post^2) / 2)``.

What is left, ``attributable = M_all - RTM - placebo``, is reported in points and in d_av units. Each bias
has its own random stream (spawned from ``seed``), so turning one off leaves the others' draws unchanged.
A control arm's within-group change already holds that trial's regression to the mean and natural course,
so subtracting both overstates the bias: the stacked intervals show each step so a reader can stop early.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis.limitations.regression import inverse_mills_ratio
from ketamine_ptsd.analysis.privacy import suppress

#: Biases in the order they are removed, with how the chapter names them.
STEPS = {
    "random_error": "observed (random error only)",
    "dropout": "dropouts not at random",
    "rtm": "regression to the mean",
    "placebo": "placebo and expectancy response",
}


#: The build parameters :func:`bias_analysis` reads (a notebook declares them and passes them on).
PARAMETERS = (
    "bias_draws",
    "bias_seed",
    "bias_placebo_pcl5_only",
    "bias_reliability_low",
    "bias_reliability_high",
    "bias_population_mean_low",
    "bias_population_mean_high",
    "bias_population_sd_low",
    "bias_population_sd_high",
    "bias_dropout_delta_low",
    "bias_dropout_delta_high",
    "rtm_entry_threshold",
    "mcid",
    "ci_level",
)


def placebo_arms(benchmarks: Sequence[Mapping], pcl5_only: bool) -> pd.DataFrame:
    """The control arms' within-group ds the placebo draw uses: ``id, label, instrument, d``.

    Every control arm with a within-group d, or with ``pcl5_only`` only those measured on the PCL-5
    (the cohort's own scale); the instrument column keeps PCL-5 and CAPS-5 arms apart.
    """
    rows = [
        {"id": b["id"], "label": b["label"], "instrument": b["instrument"], "d": float(b["value"])}
        for b in benchmarks
        if b["measure"] == "within_group_d"
        and b["arm_kind"] == "control"
        and b["value"] is not None
        and (not pcl5_only or b["instrument"] == "PCL-5")
    ]
    return pd.DataFrame(rows, columns=["id", "label", "instrument", "d"])


def draw_biases(
    *,
    mean_change: float,
    change_sd: float,
    n_completers: int,
    n_patients: int,
    sd_av: float,
    placebo_ds: Sequence[float],
    reliability: tuple[float, float],
    population_mean: tuple[float, float],
    population_sd: tuple[float, float],
    entry_threshold: float,
    dropout_delta: tuple[float, float],
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """``draws`` Monte Carlo draws of each bias and of what is left, one row per draw.

    Ranges are ``(low, high)`` of uniform draws (equal ends fix the value). ``placebo_ds`` empty: no
    placebo response is removed. Columns: ``observed`` (M + SE T), ``dropout``, ``rtm``, ``placebo``
    (points each bias removes, positive = it inflated the change) and ``attributable`` (points).
    """
    if n_completers < 2 or not change_sd > 0:
        raise ValueError("the bias analysis needs at least two completers whose change varies")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    se = change_sd / math.sqrt(n_completers)
    observed = mean_change + se * streams[0].standard_t(n_completers - 1, draws)
    n_dropouts = n_patients - n_completers
    delta = streams[1].uniform(*dropout_delta, draws)
    # What the dropouts' smaller change takes off the mean over everyone who started (0 without dropouts).
    dropout = observed * (1 - delta) * n_dropouts / n_patients
    rng = streams[2]
    rho = rng.uniform(*reliability, draws)
    mu = rng.uniform(*population_mean, draws)
    sigma = rng.uniform(*population_sd, draws)
    rtm = sigma * (1 - rho) * inverse_mills_ratio((entry_threshold - mu) / sigma)
    if len(placebo_ds):
        placebo = sd_av * streams[3].uniform(min(placebo_ds), max(placebo_ds), draws)
    else:
        placebo = np.zeros(draws)
    return pd.DataFrame(
        {
            "observed": observed,
            "dropout": dropout,
            "rtm": rtm,
            "placebo": placebo,
            "attributable": observed - dropout - rtm - placebo,
        }
    )


def _interval(values: np.ndarray, ci_level: float) -> tuple[float, float, float]:
    low, median, high = np.quantile(values, [(1 - ci_level) / 2, 0.5, (1 + ci_level) / 2])
    return float(median), float(low), float(high)


def summarise(draws: pd.DataFrame, sd_av: float, mcid: float, ci_level: float) -> dict:
    """What is left for ketamine: median and simulation interval at ``ci_level`` in points and in d_av,
    and the probability that it is above 0 and at least ``mcid`` points (shares of the draws, 0-1)."""
    left = draws["attributable"].to_numpy()
    median, low, high = _interval(left, ci_level)
    d_median, d_low, d_high = _interval(left / sd_av, ci_level)
    return {
        "bias_attributable_change_median": median,
        "bias_attributable_change_low": low,
        "bias_attributable_change_high": high,
        "bias_attributable_d_median": d_median,
        "bias_attributable_d_low": d_low,
        "bias_attributable_d_high": d_high,
        "bias_prob_above_zero": float(np.mean(left > 0)),
        "bias_prob_above_mcid": float(np.mean(left >= mcid)),
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
        rows.append(
            {
                "step": step,
                "label": label,
                "median": median,
                "low": low,
                "high": high,
                "bias_median": bias[0],
                "bias_low": bias[1],
                "bias_high": bias[2],
            }
        )
    return pd.DataFrame(rows, columns=list(STACKED_COLUMNS))


def bias_analysis(
    cohort: pd.DataFrame,
    benchmarks: Sequence[Mapping],
    params: Mapping,
    min_cell: int,
) -> dict:
    """The chapter's bias analysis from the cohort, the benchmarks and the build's parameters.

    ``params`` holds the build parameters of :data:`PARAMETERS`. Returns the summary
    keys of :func:`summarise` with ``bias_draws`` and ``bias_seed``, ``stacked`` (:func:`stacked`),
    ``arms`` (:func:`placebo_arms`), ``reason`` (why nothing was computed, else None) and ``suppressed``:
    the results rest on the completers and, through the dropout step, on the dropouts; with 1 to
    ``min_cell - 1`` of either, every result is suppressed (the stacked table emptied).
    """
    pre = pd.to_numeric(cohort["pcl5_pre"]).to_numpy(dtype="float64", na_value=np.nan)
    post = pd.to_numeric(cohort["pcl5_post"]).to_numpy(dtype="float64", na_value=np.nan)
    pre, post = pre[~np.isnan(pre)], post[~np.isnan(pre)]
    done = ~np.isnan(post)
    n_c, n_all = int(done.sum()), int(pre.size)
    arms = placebo_arms(benchmarks, bool(params["bias_placebo_pcl5_only"]))
    keys = (
        "bias_attributable_change_median",
        "bias_attributable_change_low",
        "bias_attributable_change_high",
        "bias_attributable_d_median",
        "bias_attributable_d_low",
        "bias_attributable_d_high",
        "bias_prob_above_zero",
        "bias_prob_above_mcid",
    )
    out = {"bias_draws": params["bias_draws"], "bias_seed": params["bias_seed"], "arms": arms}
    change = pre[done] - post[done]
    if n_c < 2 or change.std(ddof=1) == 0:
        return (
            out
            | dict.fromkeys(keys)
            | {
                "stacked": pd.DataFrame(columns=list(STACKED_COLUMNS)),
                "reason": "it needs at least two completers whose change varies",
                "suppressed": [],
            }
        )
    sd_av = math.sqrt((pre[done].var(ddof=1) + post[done].var(ddof=1)) / 2)
    draws = draw_biases(
        mean_change=float(change.mean()),
        change_sd=float(change.std(ddof=1)),
        n_completers=n_c,
        n_patients=n_all,
        sd_av=sd_av,
        placebo_ds=arms["d"].tolist(),
        reliability=(params["bias_reliability_low"], params["bias_reliability_high"]),
        population_mean=(params["bias_population_mean_low"], params["bias_population_mean_high"]),
        population_sd=(params["bias_population_sd_low"], params["bias_population_sd_high"]),
        entry_threshold=params["rtm_entry_threshold"],
        dropout_delta=(params["bias_dropout_delta_low"], params["bias_dropout_delta_high"]),
        draws=int(params["bias_draws"]),
        seed=int(params["bias_seed"]),
    )
    result = summarise(draws, sd_av, params["mcid"], params["ci_level"])
    result = suppress(result, dict.fromkeys(result, (n_c, n_all - n_c)), min_cell)
    steps = stacked(draws, params["ci_level"])
    if result["suppressed"]:
        steps = steps.iloc[:0]
    return out | result | {"stacked": steps, "reason": None}
