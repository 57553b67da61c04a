"""The chapter's frame, :mod:`ketamine_ptsd.presentation.limitations`: the headline sentence and the summary
table assembled from every limitation's row. Expected numbers come from the inputs passed in."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis import stats as stats_module
from ketamine_ptsd.presentation import limitations as LT

from .cohorts import make_cohort


def test_headline_carries_the_numbers_or_says_why_they_are_missing():
    outcome = {"n_completers": 117, "mean_change": 23.76, "d_av": 1.65, "d_av_ci_low": 1.37, "d_av_ci_high": 1.93}
    assert "fell by 23.76 points" in LT.headline(outcome | {"suppressed": []}, 0.95, 5).data
    # Three completers: the outcome is suppressed, and so is the sentence built on it.
    few = stats_module.suppressed_outcome(make_cohort([50] * 3, [30, 25, 20]), 0.95, min_cell=5)
    assert "is suppressed: it would rest on fewer than 5 completers" in LT.headline(few, 0.95, 5).data


def test_sentence_fills_numbers_and_falls_back_only_on_none():
    assert LT.sentence("{a:.1f} and {b:d}", "missing", a=2.345, b=0) == "2.3 and 0"  # zero is a value
    assert LT.sentence("{a:.1f} and {b:d}", "missing", a=2.345, b=None) == "missing"


def test_summary_table_takes_its_numbers_from_the_inputs(benchmarks):
    c = make_cohort(
        [50, 60, 40, 70, 55],
        [30, 40, None, None, 20],
        days=[30, 60, None, None, 90],
        gender=["woman", "man", None, "woman", "woman"],
    )
    itt = L.itt_summary(c, min_cell=0)
    rtm = L.rtm_expected_change()
    tests = L.multiplicity({"a": 0.01, "b": 0.03})
    table = LT.summary_table(
        observed_mean_change=25.0,
        observed_d=1.6,
        placebo=L.placebo_sensitivity(1.6, benchmarks=benchmarks),
        rtm=rtm,
        followup=L.followup_summary(c, min_cell=0),
        change_followup=L.change_by_followup(c, min_cell=0),
        itt=itt,
        mi=L.multiple_imputation(c, min_cell=0),
        represent=L.representativeness(c, benchmarks, min_cell=0),
        tests=tests,
        benchmarks=benchmarks,
        min_cell=0,
    ).set_index("limitation")
    # Completer mean (20 + 20 + 35) / 3 = 25; ITT (20 + 20 + 0 + 0 + 35) / 5 = 15.
    assert table.loc["dropout (completer analysis)", "quantity"] == pytest.approx(10)
    assert table.loc["no control group: placebo and expectancy response", "quantity"] == pytest.approx(1.6 - 1.2)
    assert table.loc["regression to the mean", "quantity"] == rtm["rtm_expected_change"]
    assert table.loc["many moderator tests", "quantity"] == pytest.approx(1 - 0.95**2)
    assert table.loc["records of patients who reached treatment", "quantity"] == pytest.approx(100)
    assert table["design_to_settle"].map(bool).all()
    bare = LT.summary_table(observed_mean_change=25.0, benchmarks=benchmarks, min_cell=0)
    assert bare["quantity"].isna().all() and len(bare) == len(table)


def test_summary_table_says_suppressed_and_shows_no_hidden_number(benchmarks):
    pre = [50, 60, 40, 70, 55, 65, 45, 58, 62, 49]
    post = [30, 40, 35, 20, 25, 45, 30, 33, None, None]
    days = [10] * 5 + [50, 60, 70, None, None]  # median 30: five completers below, three above
    c = make_cohort(pre, post, days=days, gender=["woman"] * 7 + ["man"] * 3)
    itt, mi = L.itt_summary(c, min_cell=5), L.multiple_imputation(c, min_cell=5)
    by_time = L.change_by_followup(c, min_cell=5)
    table = LT.summary_table(
        observed_mean_change=None,
        observed_d=None,
        placebo=L.placebo_sensitivity(None, benchmarks=benchmarks),
        rtm=L.rtm_expected_change(),
        followup=L.followup_summary(c, min_cell=5),
        change_followup=by_time,
        itt=itt,
        mi=mi,
        represent=L.representativeness(c, benchmarks, min_cell=5),
        benchmarks=benchmarks,
        observed_suppressed=True,
        min_cell=5,
    )
    rows = table.set_index("limitation")["by_how_much"]
    assert rows["no control group: placebo and expectancy response"].startswith("suppressed")
    assert "of the suppressed mean drop" in rows["regression to the mean"]
    assert "long against short follow-up: suppressed" in rows["natural course over the follow-up"]
    assert "multiple imputation suppressed" in rows["dropout (completer analysis)"]
    assert "women a suppressed share" in rows["records of patients who reached treatment"]
    hidden = [table.loc[i, "limitation"] for i, _ in table.attrs["suppressed"]]
    assert hidden == ["no control group: placebo and expectancy response", "natural course over the follow-up"]
    assert table.loc[[i for i, _ in table.attrs["suppressed"]], "quantity"].isna().all()
    # The numbers it does show are those that rest on enough patients: the ITT change, the counts.
    assert f"{itt['itt_mean_change']:.1f}" in rows["dropout (completer analysis)"]


def test_summary_table_uses_the_confidence_level_and_reports_safety(benchmarks):
    c = make_cohort([50, 60, 40, 70], [30, 40, 35, 20], days=[10, 20, 30, 40])
    table = LT.summary_table(
        observed_mean_change=23.75,
        change_followup=L.change_by_followup(c, ci_level=0.9, min_cell=0),
        itt=L.itt_summary(c, min_cell=0),
        safety=L.zero_event_upper_bound(4, 0.9),
        benchmarks=benchmarks,
        ci_level=0.9,
        min_cell=0,
    ).set_index("limitation")
    assert "90% CI" in table.loc["natural course over the follow-up", "by_how_much"]
    assert "40 months" in table.loc["natural course over the follow-up", "by_how_much"]  # from the benchmarks
    assert table.loc["safety and misuse not recorded", "quantity"] == pytest.approx(100 * (1 - 0.05 ** (1 / 4)))
    # No dropouts: the completer and ITT means agree, and the row says so instead of "lowers ... to".
    dropout = table.loc["dropout (completer analysis)"]
    assert dropout["quantity"] == 0 and "all 4 patients" in dropout["by_how_much"]


def test_every_limitation_with_a_summary_row_has_its_row_in_the_table():
    # A new limitation module whose row summary_table does not call would be missing from the table silently.
    with_rows = {
        m.name
        for m in pkgutil.iter_modules(LT.__path__)
        if hasattr(importlib.import_module(f"{LT.__name__}.{m.name}"), "summary_row")
    }
    called = set(re.findall(r"_(\w+)\.summary_row\(", inspect.getsource(LT.summary_table)))
    assert len(with_rows) >= 8
    assert called == with_rows
