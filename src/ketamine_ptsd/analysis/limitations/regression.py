"""Regression to the mean: the drop expected from selecting patients for a high baseline score alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ketamine_ptsd.analysis.limitations._common import _num
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, suppress
from ketamine_ptsd.analysis.values import as_float as _float
from ketamine_ptsd.parameters import DEFAULTS

#: The grid of assumptions :func:`rtm_grid` explores by default. Reliabilities span the published PCL-5
#: test-retest r (.82, Blevins et al. 2015; .84, Bovin et al. 2016) and values either side; population
#: means span a range around the Osmind real-world baseline (about 47); SDs run from a cohort's to wider.
GRID_POPULATION_MEANS = (35, 40, 45, 47, 50, 55)
GRID_POPULATION_SDS = (10, 15, 20)
GRID_RELIABILITIES = (0.70, 0.75, 0.82, 0.84, 0.90)


def inverse_mills_ratio(z: np.ndarray | float) -> np.ndarray:
    """The inverse Mills ratio C(z) = phi(z) / (1 - Phi(z)) of the standard normal, elementwise.

    C(z) is how far above the cut, in SDs, the mean of a normal truncated below at z lies; regression to the
    mean is proportional to it. It is computed in logs so it stays finite where phi and 1 - Phi both
    underflow (C(z) tends to z for large z).

    Parameters
    ----------
    z : float or numpy.ndarray
        Standardised cut-off(s), ``(threshold - mean) / sd``.

    Returns
    -------
    numpy.ndarray
        C(z), of the shape of ``z`` (a 0-d array for a scalar).

    >>> float(inverse_mills_ratio(0.0))  # phi(0) / 0.5 = 2 / sqrt(2 pi)
    0.7978845608028654
    >>> inverse_mills_ratio(np.array([-1.0, 1.0, 40.0])).round(4)
    array([ 0.2876,  1.5251, 40.025 ])
    """
    return np.exp(stats.norm.logpdf(z) - stats.norm.logsf(z))


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
    mills = float(inverse_mills_ratio(z))
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


def baseline_below_threshold(
    cohort: pd.DataFrame, entry_threshold: float, min_cell: int = DEFAULTS["min_cell"]
) -> dict:
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
    mills = inverse_mills_ratio(z)
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
