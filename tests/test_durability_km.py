"""Kaplan-Meier curve and median days to loss of response against R's survival package
(tests/results/durability_km.R and its CSV)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.analysis import durability

R = pd.read_csv(Path(__file__).parent / "results" / "durability_km.csv")
# The inputs of tests/results/durability_km.R.
TIMES = pd.DataFrame(
    {
        "days": [30, 45, 45, 60, 90, 120, 150, 200, 240],
        "lost": [True, True, False, True, True, False, True, False, True],
    }
)


def test_kaplan_meier_curve_matches_r_survfit():
    survival = durability.kaplan_meier(TIMES)
    np.testing.assert_allclose(survival.surv_times, R["time"])
    np.testing.assert_allclose(survival.surv_prob, R["survival"], rtol=1e-12)


def test_median_days_to_loss_matches_r_survfit():
    assert durability.median_days_to_loss(TIMES) == pytest.approx(R["median"].iloc[0])


def test_median_is_none_when_the_curve_never_falls_below_half():
    # One loss in four: the curve ends at 3/4.
    times = pd.DataFrame({"days": [10, 20, 30, 40], "lost": [True, False, False, False]})
    assert durability.median_days_to_loss(times) is None
