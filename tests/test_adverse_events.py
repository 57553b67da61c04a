"""Adverse-event rates and the serious-event check against counts by hand and scipy's exact interval.

A rate is events over the patients recorded for that column (an empty cell is not "no event"); its interval
is Clopper-Pearson's, here from ``scipy.stats.binomtest(...).proportion_ci(method="exact")``; the small-cell
rule hides what rests on 1 to ``min_cell - 1`` patients, with or without the event.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import binomtest

from ketamine_ptsd.analysis import adverse_events


def _flags(*values):
    return pd.array(list(values), dtype="boolean")


def _exact(events, recorded, level):
    """Percentage and Clopper-Pearson limits, 0-100, from scipy."""
    ci = binomtest(events, recorded).proportion_ci(confidence_level=level, method="exact")
    return 100 * events / recorded, 100 * ci.low, 100 * ci.high


def test_adverse_event_columns_are_the_contracts_ae_names_in_order():
    # ae_ then a lower-case letter, then lower-case letters and digits, in words joined by single "_".
    names = [
        "patient_id",
        "ae_nausea",
        "serious_adverse_event",
        "ae_",
        "ae_Nausea",
        "ae_blood_pressure_high",
        "xae_nausea",
        "ae_dizzy2",
        "ae_2nd",
        "ae_double__underscore",
        "ae_trailing_",
        "aenausea",
    ]
    frame = pd.DataFrame({name: [None] for name in names})
    assert adverse_events.adverse_event_columns(frame) == ["ae_nausea", "ae_blood_pressure_high", "ae_dizzy2"]


@pytest.mark.parametrize(("events", "recorded", "level"), [(0, 1, 0.95), (1, 1, 0.95), (2, 7, 0.8), (5, 9, 0.99)])
def test_rate_is_events_over_recorded_with_the_exact_interval(events, recorded, level):
    pct, low, high = _exact(events, recorded, level)
    found = adverse_events.rate(events, recorded, level)
    assert list(found) == ["pct", "ci_low", "ci_high"]
    assert found["pct"] == pytest.approx(pct, rel=1e-12)
    assert found["ci_low"] == pytest.approx(low, abs=1e-9)
    assert found["ci_high"] == pytest.approx(high, abs=1e-9)
    assert all(type(v) is float for v in (found["ci_low"], found["ci_high"]))


def test_rate_at_the_interval_ends_by_hand():
    # Clopper-Pearson with no event: low 0, high 1 - (alpha / 2)^(1 / n); all events: the mirror image.
    # n 4 at 90%: high = 1 - 0.05^(1/4) = 1 - 0.47287 = 0.52713.
    none = adverse_events.rate(0, 4, 0.9)
    assert none["pct"] == 0.0 and none["ci_low"] == pytest.approx(0.0, abs=1e-12)
    assert none["ci_high"] == pytest.approx(100 * (1 - 0.05 ** (1 / 4)), rel=1e-9)
    every = adverse_events.rate(4, 4, 0.9)
    assert every["pct"] == 100.0 and every["ci_high"] == pytest.approx(100.0, abs=1e-12)
    assert every["ci_low"] == pytest.approx(100 * 0.05 ** (1 / 4), rel=1e-9)


def test_rate_of_nobody_recorded_is_none():
    assert adverse_events.rate(0, 0, 0.95) == {"pct": None, "ci_low": None, "ci_high": None}


def test_adverse_event_rates_key_by_key():
    cohort = pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(10)],
            # 4 events, 4 without, 2 not recorded: 4 of 8, every group at least 3.
            "ae_nausea": _flags(True, True, True, True, False, False, False, None, None, False),
            # 1 event of 8 recorded: the count, rate and interval rest on 1 patient.
            "ae_headache": _flags(True, False, False, False, False, False, False, False, None, None),
            # 6 events of 8: 2 without the event, a small group too.
            "ae_dizziness": _flags(True, True, True, True, True, True, False, False, None, None),
            # 2 recorded, neither with the event: the 2 recorded are a small group.
            "ae_rash": _flags(False, False, None, None, None, None, None, None, None, None),
            # Nobody recorded: no rate, nothing to hide.
            "ae_fever": _flags(*[None] * 10),
            # 2 serious events among 9 recorded: 2 patients.
            "serious_adverse_event": _flags(True, True, False, False, False, False, False, False, False, None),
        }
    )
    pct, low, high = _exact(4, 8, 0.9)
    assert pct == 50.0
    expected = {
        "ae_nausea_n": 4,
        "ae_nausea_n_recorded": 8,
        "ae_nausea_pct": pct,
        "ae_nausea_ci_low": low,
        "ae_nausea_ci_high": high,
        "ae_headache_n": None,
        "ae_headache_n_recorded": 8,
        "ae_headache_pct": None,
        "ae_headache_ci_low": None,
        "ae_headache_ci_high": None,
        "ae_dizziness_n": None,
        "ae_dizziness_n_recorded": 8,
        "ae_dizziness_pct": None,
        "ae_dizziness_ci_low": None,
        "ae_dizziness_ci_high": None,
        "ae_rash_n": None,
        "ae_rash_n_recorded": None,
        "ae_rash_pct": None,
        "ae_rash_ci_low": None,
        "ae_rash_ci_high": None,
        "ae_fever_n": 0,
        "ae_fever_n_recorded": 0,
        "ae_fever_pct": None,
        "ae_fever_ci_low": None,
        "ae_fever_ci_high": None,
        "n_serious_adverse_events": None,
    }
    rates = adverse_events.adverse_event_rates(cohort, 0.9, min_cell=3)
    hidden = rates.pop("suppressed")
    assert list(rates) == list(expected)
    assert rates == pytest.approx(expected, abs=1e-9)
    # In the order of the values; ae_fever's rate is None for want of data, not hidden.
    assert hidden == [
        "ae_headache_n",
        "ae_headache_pct",
        "ae_headache_ci_low",
        "ae_headache_ci_high",
        "ae_dizziness_n",
        "ae_dizziness_pct",
        "ae_dizziness_ci_low",
        "ae_dizziness_ci_high",
        "ae_rash_n",
        "ae_rash_n_recorded",
        "ae_rash_pct",
        "ae_rash_ci_low",
        "ae_rash_ci_high",
        "n_serious_adverse_events",
    ]
    # Without the rule every count and rate is shown, each against scipy.
    shown = adverse_events.adverse_event_rates(cohort, 0.9, min_cell=0)
    assert shown.pop("suppressed") == []
    for name, events, recorded in [
        ("ae_nausea", 4, 8),
        ("ae_headache", 1, 8),
        ("ae_dizziness", 6, 8),
        ("ae_rash", 0, 2),
    ]:
        pct, low, high = _exact(events, recorded, 0.9)
        assert shown[f"{name}_n"] == events and shown[f"{name}_n_recorded"] == recorded
        assert [shown[f"{name}_{k}"] for k in ("pct", "ci_low", "ci_high")] == pytest.approx([pct, low, high])
    assert shown["n_serious_adverse_events"] == 2


def test_serious_events_of_min_cell_or_more_are_shown():
    cohort = pd.DataFrame({"serious_adverse_event": _flags(True, True, True, False, None)})
    # 3 events at min_cell 3: shown; no ae_* column: only the serious count.
    assert adverse_events.adverse_event_rates(cohort, 0.95, min_cell=3) == {
        "n_serious_adverse_events": 3,
        "suppressed": [],
    }


def test_without_a_serious_event_column_the_count_is_none_and_not_hidden():
    cohort = pd.DataFrame({"ae_nausea": _flags(True, True, True, False, False, False)})
    rates = adverse_events.adverse_event_rates(cohort, 0.95, min_cell=3)
    assert rates["n_serious_adverse_events"] is None
    assert rates["suppressed"] == []
    pct, low, high = _exact(3, 6, 0.95)
    assert [rates["ae_nausea_pct"], rates["ae_nausea_ci_low"], rates["ae_nausea_ci_high"]] == pytest.approx(
        [pct, low, high]
    )


def test_serious_claim_check_by_hand():
    check = adverse_events.serious_claim_check
    not_computable = {"computable": False, "holds": None, "n_recorded": 0}
    # No column, or a column nobody has a value in: the claim cannot be checked.
    assert check(pd.DataFrame({"ae_nausea": _flags(True, False)})) == not_computable
    assert check(pd.DataFrame({"serious_adverse_event": _flags(None, None)})) == not_computable
    # One patient recorded, without a serious event: the claim holds on 1.
    assert check(pd.DataFrame({"serious_adverse_event": _flags(False, None, None)})) == {
        "computable": True,
        "holds": True,
        "n_recorded": 1,
    }
    # One serious event among 3 recorded: it does not hold.
    assert check(pd.DataFrame({"serious_adverse_event": _flags(False, True, False, None)})) == {
        "computable": True,
        "holds": False,
        "n_recorded": 3,
    }
