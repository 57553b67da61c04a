"""Durability and adverse events against values computed independently: by hand, scipy and R's lme4."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binomtest

from ketamine_ptsd.analysis import adverse_events, durability
from ketamine_ptsd.data.long import ASSESSMENT_COLUMNS

# Six patients' post (day 0) and follow-up totals. The same rows are in the R call below.
LMM = [
    ("p1", 0, 20), ("p1", 30, 24), ("p1", 90, 31), ("p1", 200, 35),
    ("p2", 0, 15), ("p2", 45, 15), ("p2", 120, 19),
    ("p3", 0, 30), ("p3", 20, 33), ("p3", 60, 40), ("p3", 150, 44), ("p3", 300, 52),
    ("p4", 0, 22), ("p4", 100, 21),
    ("p5", 0, 18), ("p5", 35, 25), ("p5", 80, 27), ("p5", 170, 36),
    ("p6", 0, 25), ("p6", 60, 26), ("p6", 210, 30),
]  # fmt: skip


def tables(rows, pre=60):
    """Cohort (pcl5_pre = ``pre``) and later assessments from (patient, days after post, pcl5) rows."""
    frame = pd.DataFrame(rows, columns=["patient_id", "days_after_post", "pcl5"])
    post = frame[frame["days_after_post"] == 0]
    cohort = pd.DataFrame({"patient_id": post["patient_id"], "pcl5_pre": pre, "pcl5_post": post["pcl5"]})
    later = frame.assign(
        assessment=["post" if d == 0 else "followup" for d in frame["days_after_post"]],
        days=frame["days_after_post"] + 21,
    )
    return cohort.reset_index(drop=True), later[list(ASSESSMENT_COLUMNS)]


def test_mixed_model_slope_matches_lme4():
    # R 4.x, lme4:
    #   d <- read.csv("lmm.csv")  # the rows of LMM: patient_id, days, pcl5
    #   d$months <- d$days / 30.4375
    #   m <- lmer(pcl5 ~ months + (1 + months | patient_id), data = d, REML = TRUE)
    #   summary(m)$coefficients["months", ]   # 1.574999303, SE 0.436572873
    #   confint(m, method = "Wald", parm = "months")   # 0.7193321955 2.430666411
    cohort, later = tables(LMM)
    fit = durability.slope(cohort, later, ci_level=0.95, min_patients=6)
    assert fit["converged"] and fit["n_patients"] == 6 and fit["n_observations"] == 21
    assert fit["durability_slope_random_slope"] is True
    assert fit["durability_slope_per_month"] == pytest.approx(1.574999303, rel=1e-4)
    # statsmodels' Wald interval uses the full Hessian: a little wider than lme4's (PITFALLS).
    half = (fit["durability_slope_ci_high"] - fit["durability_slope_ci_low"]) / 2
    assert half == pytest.approx((2.430666411 - 0.7193321955) / 2, rel=0.05)
    assert half >= (2.430666411 - 0.7193321955) / 2


RESULTS = Path(__file__).parent / "results"
#: lme4's fits of the two fixtures: tests/results/durability_lme4.R, which wrote durability_lme4.csv.
LME4 = pd.read_csv(RESULTS / "durability_lme4.csv").set_index("fixture")


def fixture_tables(name: str):
    """Cohort and later assessments of a fixture of tests/results: one row per total, day 0 = post."""
    frame = pd.read_csv(RESULTS / name)
    cohort = frame.groupby("patient_id", sort=False)["pcl5_pre"].first().reset_index()
    post = frame[frame["days_after_post"] == 0].set_index("patient_id")["pcl5"]
    cohort["pcl5_post"] = cohort["patient_id"].map(post).astype("Float64")
    rows = frame.dropna(subset=["days_after_post"])
    later = rows.assign(
        assessment=["post" if d == 0 else "followup" for d in rows["days_after_post"]],
        days=rows["days_after_post"] + 21,
    )
    return cohort, later[list(ASSESSMENT_COLUMNS)]


@pytest.mark.parametrize("name", LME4.index)
def test_mixed_model_equals_lme4_reml_fit(name):
    cohort, later = fixture_tables(name)
    r = LME4.loc[name]
    fit = durability.slope(cohort, later, ci_level=0.95, min_patients=10)
    # Every completer's post total is in the model, with or without a follow-up (data contract).
    assert fit["n_observations"] == r["n_observations"]
    assert fit["durability_slope_random_slope"] is ("months |" in r["model"])
    assert fit["converged"] and fit["gradient"] < durability.GRADIENT_TOLERANCE
    assert fit["durability_slope_per_month"] == pytest.approx(r["slope"], rel=1e-3)
    assert fit["durability_slope_reml_criterion"] == pytest.approx(r["reml_criterion"], rel=1e-6)
    # statsmodels' Wald interval uses the full Hessian: within a few percent of lme4's (PITFALLS).
    half = (fit["durability_slope_ci_high"] - fit["durability_slope_ci_low"]) / 2
    assert half == pytest.approx((r["ci_high"] - r["ci_low"]) / 2, rel=0.05)


def _fits(name: str) -> dict:
    """Each optimiser's own fit of a fixture: method -> (converged flag, -2 REML log-likelihood)."""
    import statsmodels.formula.api as smf

    cohort, later = fixture_tables(name)
    data = durability._post_treatment_totals(cohort, later)
    model = smf.mixedlm("pcl5 ~ months", data, groups=data["patient_id"], re_formula="~months")
    out = {}
    for method in durability._METHODS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(reml=True, method=method)
        out[method] = (fit.converged, -2 * fit.llf)
    return out


def test_a_convergence_flag_short_of_the_optimum_is_not_trusted():
    # The trap the fixture was chosen for: lbfgs claims convergence with a REML criterion far above lme4's.
    fits = _fits("durability_lbfgs_early.csv")
    converged, criterion = fits["lbfgs"]
    assert converged and criterion - LME4.loc["durability_lbfgs_early.csv", "reml_criterion"] > 20
    cohort, later = fixture_tables("durability_lbfgs_early.csv")
    assert durability.slope(cohort, later, 0.95)["durability_slope_method"] != "lbfgs"


def test_a_derivative_free_fit_near_the_optimum_is_taken_on_by_bfgs():
    # On the clinic export, Powell comes closest and stops with a gradient above the tolerance; BFGS from there
    # reaches lme4's optimum.
    name = "durability_clinic_export.csv"
    fits = _fits(name)
    assert min(fits, key=lambda m: fits[m][1]) == "powell"
    cohort, later = fixture_tables(name)
    fit = durability.slope(cohort, later, 0.95)
    assert fit["durability_slope_method"] == "powell, then bfgs"
    assert fit["durability_slope_reml_criterion"] <= fits["powell"][1]


def test_too_few_patients_with_followups_fit_a_random_intercept_only():
    cohort, later = fixture_tables("durability_few_repeated.csv")
    assert LME4.loc["durability_few_repeated.csv", "model"] == "pcl5 ~ months + (1 | patient_id)"
    fit = durability.slope(cohort, later, ci_level=0.95, min_patients=10)
    assert fit["n_patients"] == 2 and fit["durability_slope_random_slope"] is False
    # At the threshold the random slope comes in.
    assert durability.slope(cohort, later, 0.95, min_patients=2)["durability_slope_random_slope"] is True


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        # Margin 10 / 12 points a month: sustained needs the upper end strictly below it.
        (-1.0, 10 / 12 - 1e-9, "sustained"),
        (-1.0, 10 / 12, "not enough data to tell"),
        (-1.0, 10 / 12 + 1e-9, "not enough data to tell"),
        # Worsening needs the lower end strictly above 0 (and not sustained).
        (0.0, 2.0, "not enough data to tell"),
        (1e-9, 2.0, "worsening"),
        (0.1, 0.5, "sustained"),  # worse, but by less than the margin: excluded a worsening that large
        (-0.1 - 5, -0.1 + 5, "not enough data to tell"),  # the reviewer's example: -0.1 +/- 5
        (None, None, None),
    ],
)
def test_durability_verdict_at_its_thresholds(low, high, expected):
    assert durability.verdict(low, high, durability.margin(None, 10)) == expected


def test_margin_defaults_to_mcid_over_a_year():
    assert durability.margin(None, 12) == 1.0 and durability.margin(0.5, 12) == 0.5


def test_kaplan_meier_median_worked_by_hand():
    # pcl5_pre 50: responding means pcl5 <= 35. Every patient responds at post (20).
    # a: lost at day 10; b: holds to day 20 (censored); c: lost at 30; d: lost at 40; e: holds to 50 (censored).
    rows = [
        ("a", 0, 20), ("a", 10, 40),
        ("b", 0, 20), ("b", 20, 30),
        ("c", 0, 20), ("c", 15, 30), ("c", 30, 36), ("c", 45, 20),
        ("d", 0, 20), ("d", 40, 45),
        ("e", 0, 20), ("e", 25, 35), ("e", 50, 30),
    ]  # fmt: skip
    cohort, later = tables(rows, pre=50)
    times = durability.loss_of_response(cohort, later, 0.30)
    assert sorted(zip(times["days"], times["lost"])) == [(10, True), (20, False), (30, True), (40, True), (50, False)]
    # S(10) = 4/5 = 0.8; S(30) = 0.8 * 2/3 = 0.533 (3 at risk); S(40) = 0.533 * 1/2 = 0.267: median 40.
    assert durability.median_days_to_loss(times) == 40
    # Without the loss at 40 the curve stays at 0.533: no median.
    held = [r if r != ("d", 40, 45) else ("d", 40, 30) for r in rows]
    cohort, later = tables(held, pre=50)
    assert durability.median_days_to_loss(durability.loss_of_response(cohort, later, 0.30)) is None


def test_windows_take_each_patients_last_followup_in_them():
    rows = [
        ("a", 0, 20), ("a", 10, 40), ("a", 25, 30), ("a", 100, 45),
        ("b", 0, 40), ("b", 20, 42),
        ("c", 0, 20), ("c", 80, 30),
    ]  # fmt: skip
    cohort, later = tables(rows, pre=50)  # responders at post: a and c (20 <= 35), not b (40)
    table = durability.by_window(cohort, later, [30, 90, 180], 0.30)
    assert table[["window_start", "window_end", "n", "n_responders"]].values.tolist() == [
        [0, 30, 2, 1],
        [30, 90, 1, 1],
        [90, 180, 1, 1],
    ]
    assert table["mean_pcl5"].tolist() == [(30 + 42) / 2, 30, 45]
    assert table["pct_response_maintained"].tolist() == [100.0, 100.0, 0.0]


def test_without_followups_every_durability_value_is_none():
    cohort, later = tables([("a", 0, 20), ("b", 0, 30)])
    later = later[later["assessment"] == "followup"]
    assert durability.median_days_to_loss(durability.loss_of_response(cohort, later, 0.3)) is None
    assert durability.slope(cohort, later, 0.95)["durability_slope_per_month"] is None
    assert durability.by_window(cohort, later, [30, 90], 0.3)["n"].tolist() == [0, 0]


@pytest.mark.parametrize(("events", "recorded"), [(0, 12), (3, 40), (17, 17), (9, 31)])
def test_exact_interval_matches_scipy_binomtest(events, recorded):
    ci = binomtest(events, recorded).proportion_ci(confidence_level=0.9, method="exact")
    found = adverse_events.rate(events, recorded, 0.9)
    assert found["pct"] == pytest.approx(100 * events / recorded)
    assert found["ci_low"] == pytest.approx(100 * ci.low, abs=1e-9)
    assert found["ci_high"] == pytest.approx(100 * ci.high, abs=1e-9)


def test_adverse_event_counts_of_one_to_min_cell_minus_one_are_suppressed():
    flags = pd.array([True] * 3 + [False] * 20 + [None] * 2, dtype="boolean")
    other = pd.array([True] * 8 + [False] * 15 + [None] * 2, dtype="boolean")
    none = pd.array([False] * 23 + [None] * 2, dtype="boolean")
    cohort = pd.DataFrame({"ae_nausea": flags, "ae_dissociation": other, "serious_adverse_event": none})
    rates = adverse_events.adverse_event_rates(cohort, 0.95, min_cell=5)
    assert rates["ae_nausea_n"] is None and rates["ae_nausea_pct"] is None and rates["ae_nausea_ci_high"] is None
    assert rates["ae_dissociation_n"] == 8 and rates["ae_dissociation_n_recorded"] == 23
    assert not math.isnan(rates["ae_dissociation_ci_low"]) and "ae_dissociation_n" not in rates["suppressed"]
    assert "ae_nausea_n" in rates["suppressed"]
    # 20 of 23 with the event leaves 3 without: a small cell too.
    cohort["ae_dissociation"] = ~flags
    assert adverse_events.adverse_event_rates(cohort, 0.95, min_cell=5)["ae_dissociation_pct"] is None
    assert rates["n_serious_adverse_events"] == 0  # none is not a person: shown
    assert adverse_events.serious_claim_check(cohort) == {"computable": True, "holds": True, "n_recorded": 23}
    assert adverse_events.serious_claim_check(cohort.drop(columns="serious_adverse_event"))["computable"] is False


def test_small_follow_up_groups_are_suppressed():
    # Three completers followed, all responders: every count, the median and the slope rest on 1 to 4 patients.
    rows = [(p, 0, 20) for p in "abc"] + [("a", 20, 40), ("b", 40, 25), ("c", 100, 22), ("c", 200, 45)]
    cohort, later = tables(rows, pre=50)
    values = durability.durability_values(cohort, later, 0.3, 0.95, min_cell=5)
    assert all(values[key] is None for key in durability.KEYS)
    assert set(values["suppressed"]) == set(durability.KEYS)
    windows = durability.window_table(cohort, later, [30, 90, 365], 0.3, min_cell=5)
    assert windows["n"].tolist() == [None, None, None]
    assert (0, "n") in windows.attrs["suppressed"]
    # min_cell = 0 turns the rule off: the same values are published.
    values = durability.durability_values(cohort, later, 0.3, 0.95, min_cell=0)
    assert values["n_with_followup"] == 3 and values["n_followup_assessments"] == 4
    assert values["durability_n_responders_followed"] == 3 and values["durability_n_lost_response"] == 2
    # a lost at day 20 (40 > 35), b kept to 40 (censored), c lost at 200: S = 2/3, then 0, so the median is 200.
    assert values["durability_median_days_to_loss"] == 200
    assert values["suppressed"] == []


def test_trajectory_is_each_times_mean_and_t_interval_by_hand():
    import numpy as np
    from scipy import stats

    pre = [60, 55, 70, 65, 50, 58]
    cohort, later = tables(LMM, pre=pre)
    # Interim assessments: p1 twice (its last, 35, counts), p2 once.
    interim = pd.DataFrame(
        {"patient_id": ["p1", "p1", "p2"], "days_after_post": [-10, -5, -5], "pcl5": [40, 35, 30]}
    ).assign(assessment="interim", days=lambda f: f["days_after_post"] + 21)
    later = pd.concat([later, interim[list(ASSESSMENT_COLUMNS)]], ignore_index=True)
    table = durability.trajectory(cohort, later, [30, 90, 365], 0.95)
    # Each patient's last total in each window (0, 30], (30, 90], (90, 365] of days after post, from LMM.
    expected = {
        "before treatment": pre,
        "interim": [35, 30],
        "after treatment": [20, 15, 30, 22, 18, 25],
        "0-30 days after": [24, 33],
        "30-90 days after": [31, 15, 40, 27, 26],
        "90-365 days after": [35, 19, 52, 21, 36, 30],
    }
    assert table["time"].tolist() == list(expected)
    for (_, row), values in zip(table.iterrows(), expected.values()):
        x = np.array(values, dtype=float)
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
        assert row["n"] == len(x) and row["mean"] == pytest.approx(x.mean()), row["time"]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((x.mean() - half, x.mean() + half)), row["time"]
    # The published table hides the rows of 1 to min_cell - 1 patients: here the two of 2.
    shown = durability.trajectory_table(cohort, later, [30, 90, 365], 0.95, min_cell=3)
    assert shown["n"].tolist() == [6, None, 6, None, 5, 6] and shown["mean"].isna().tolist() == [
        False,
        True,
        False,
        True,
        False,
        False,
    ]
    # One value: a mean, no interval; none: no mean.
    p4 = durability.trajectory(cohort[cohort["patient_id"] == "p4"], later, [30, 90, 365], 0.95).set_index("time")
    assert p4.loc["90-365 days after", "n"] == 1 and p4.loc["90-365 days after", "mean"] == 21.0
    assert pd.isna(p4.loc["90-365 days after", "ci_low"]) and pd.isna(p4.loc["0-30 days after", "mean"])
