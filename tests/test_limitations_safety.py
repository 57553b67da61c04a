"""What a record without adverse events cannot exclude: :mod:`ketamine_ptsd.analysis.limitations.safety`
against scipy's exact interval, and its words, :mod:`ketamine_ptsd.presentation.limitations.safety`."""

from __future__ import annotations

import pytest
from scipy import stats

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.presentation import limitations as LT


def test_zero_event_upper_bound_is_clopper_pearson():
    for n in (1, 30, 117, 5000):
        out = L.zero_event_upper_bound(n, 0.95)
        exact = stats.binomtest(0, n).proportion_ci(confidence_level=0.95, method="exact").high
        assert out["upper"] == pytest.approx(exact, rel=1e-9)
        # At the bound, seeing no event in n has probability (1 - ci_level) / 2.
        assert (1 - out["upper"]) ** n == pytest.approx(0.025)
        assert out["upper_pct"] == pytest.approx(100 * exact, rel=1e-9)
    assert L.zero_event_upper_bound(117, 0.90)["upper"] < L.zero_event_upper_bound(117, 0.95)["upper"]
    assert L.zero_event_upper_bound(0) == {"n": 0, "upper": None, "upper_pct": None}


def test_safety_paragraph_gives_the_bound_as_one_patient_in_so_many():
    safety = LT.safety.paragraph(L.zero_event_upper_bound(100), None, 0.95).data
    assert "reaches 3.6% of patients" in safety and "one patient in 28" in safety
