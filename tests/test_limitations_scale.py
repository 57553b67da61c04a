"""The limitation analyses at a million patients: vectorised, so they run, and agree with direct numpy and
scipy computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketamine_ptsd.analysis import limitations as L

pytestmark = pytest.mark.scale


def test_a_million_patients_give_the_same_answers_as_numpy_and_scipy():
    # Vectorised over patients: a million still run (the benchmarks measure how fast), and agree with
    # the direct computations.
    rng = np.random.default_rng(0)
    n = 1_000_000
    pre = rng.integers(33, 81, n)
    post = np.clip(pre - rng.integers(-5, 45, n), 0, 80).astype(float)
    post[rng.random(n) < 0.25] = np.nan
    days = rng.integers(7, 365, n)
    c = pd.DataFrame(
        {
            "pcl5_pre": pd.array(pre, dtype="Int64"),
            "pcl5_post": pd.array(pd.Series(post).round(), dtype="Int64"),
            "days_between": pd.array(days, dtype="Int64"),
        }
    )
    done = ~np.isnan(post)
    change = pre - post
    assert L.itt_summary(c, min_cell=0)["itt_mean_change"] == pytest.approx(np.where(done, change, 0).mean())
    by_time = L.change_by_followup(c, min_cell=0)
    cut = np.median(days[done])
    short, long_ = change[done & (days <= cut)], change[done & (days > cut)]
    assert by_time["difference"] == pytest.approx(long_.mean() - short.mean())
    assert by_time["p"] == pytest.approx(stats.ttest_ind(long_, short, equal_var=False).pvalue, rel=1e-6)
    assert L.multiple_imputation(c, m=20, min_cell=0)["n_imputed"] == int((~done).sum())
    assert L.lowess_curve(c)["n"].sum() == int(done.sum())
