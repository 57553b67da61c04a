"""No control group: :mod:`ketamine_ptsd.analysis.limitations.benchmarks` (published effects, placebo
sensitivity) and its words, :mod:`ketamine_ptsd.presentation.limitations.benchmarks`.

Expected values come from formulas written out here, from scipy or statsmodels, or from the published
sources named beside them; never from the code under test."""

from __future__ import annotations

import math

import pytest

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis import privacy
from ketamine_ptsd.analysis import stats as stats_module
from ketamine_ptsd.presentation import limitations as LT

from .cohorts import make_cohort


def test_forest_rows_put_the_cohort_first_and_separate_within_from_between(benchmarks):
    rows = L.forest_rows({"d_av": 1.6, "ci_low": 1.3, "ci_high": 1.9}, benchmarks)
    first = rows.iloc[0]
    assert (first["kind"], first["value"], first["ci_low"], first["ci_high"]) == ("this cohort", 1.6, 1.3, 1.9)
    kinds = dict(zip(rows["id"], rows["kind"]))
    assert kinds["mapp1_placebo_within"] == "within-group control arm"
    assert kinds["brady2000_placebo_within"] == "within-group control arm"
    assert kinds["mapp1_mdma_within"] == "within-group active arm"
    assert kinds["meta2024_overall"] == "between-group"
    assert kinds["mapp2_between"] == "between-group"
    # Percentages, points and psychometrics are not standardised effects.
    for absent in (
        "feder2021_ketamine_response",
        "osmind_mean_change",
        "blevins2015_reliability",
        "abdallah2022_group_by_time",
    ):
        assert absent not in kinds
    order = [
        list(rows["kind"]).index(k)
        for k in ("this cohort", "within-group active arm", "within-group control arm", "between-group")
    ]
    assert order == sorted(order)
    meta = rows.set_index("id").loc["meta2024_bias_adjusted"]
    assert (meta["value"], meta["ci_low"], meta["ci_high"], meta["instrument"]) == (0.20, -0.08, 0.48, "mixed")
    assert rows.set_index("id").loc["mapp1_between", "ci_low"] is None


def test_forest_rows_mark_a_suppressed_cohort_effect(benchmarks):
    rows = L.forest_rows(
        {"d_av": None, "ci_low": None, "ci_high": None, "suppressed": ["d_av", "ci_low", "ci_high"]}, benchmarks
    )
    assert rows.attrs["suppressed"] == [(0, "value"), (0, "ci_low"), (0, "ci_high")]
    shown, paths = privacy.mark_suppressed(rows, "benchmark_comparison")
    assert shown.loc[0, "value"] == "suppressed" and paths[0] == "benchmark_comparison[0].value"
    assert L.forest_rows({"d_av": 1.6, "ci_low": 1.3, "ci_high": 1.9}, benchmarks).attrs["suppressed"] == []


def test_placebo_sensitivity_by_hand(benchmarks):
    out = L.placebo_sensitivity(1.6, [1.2], benchmarks=benchmarks, observed_change=23.76, sd_pre=11.90, sd_post=16.52)
    row = out.iloc[0]
    assert row["remaining_d"] == pytest.approx(0.4)
    assert row["pct_of_observed"] == pytest.approx(25.0)
    sd_av = math.sqrt((11.90**2 + 16.52**2) / 2)  # the d_av denominator, 14.3965
    assert row["placebo_points"] == pytest.approx(1.2 * sd_av)
    assert row["remaining_points"] == pytest.approx(23.76 - 1.2 * sd_av)
    assert row["in_benchmark_range"]
    assert row["benchmark_id"] == "mapp1_placebo_within"
    assert row["benchmark_label"] == "MAPP1 placebo + therapy (within)"
    assert L.placebo_sensitivity(1.6, [0.5], benchmarks=benchmarks)["benchmark_label"].tolist() == [None]


def test_placebo_default_range_comes_from_control_arms(benchmarks):
    out = L.placebo_sensitivity(1.6, benchmarks=benchmarks)
    # Control-arm within-group ds in the benchmarks: Brady placebo 1.0, MAPP1 placebo with therapy 1.2 and
    # MAPP2's, derived as 14.8 / ((23.7 - 14.8) / 0.7), each also a row of its own.
    assert out["placebo_d"].min() == 0
    assert out["placebo_d"].max() == pytest.approx(1.2)
    flagged = out.loc[out["in_benchmark_range"].astype(bool), "placebo_d"].tolist()
    assert flagged == pytest.approx([1.0, 1.1, 14.8 / ((23.7 - 14.8) / 0.7), 1.2])
    assert "placebo_points" not in out  # no SDs given
    own = [{"id": "x", "measure": "within_group_d", "arm_kind": "control", "value": 0.45}]
    assert L.placebo_sensitivity(1.0, benchmarks=own, step=0.2)["placebo_d"].tolist() == pytest.approx(
        [0, 0.2, 0.4, 0.45]
    )


def test_benchmark_numbers_name_every_published_number(benchmarks):
    numbers = L.benchmark_numbers(benchmarks)
    assert (
        numbers["meta2024_overall"],
        numbers["meta2024_overall_ci_low"],
        numbers["meta2024_overall_ci_high"],
        numbers["meta2024_overall_n"],
    ) == (0.27, 0.03, 0.51, 221)
    assert (numbers["pcl5_cutoff_range_low"], numbers["pcl5_cutoff_range_high"]) == (31, 33)
    assert numbers["morina2014_observation_period"] == 40
    assert "almeida2024_end_of_course_ci_low" not in numbers  # the source gives no standardised interval
    assert "pcl5_cutoff" not in numbers  # a range, not a point


def test_benchmarks_table_selects_by_measure_in_file_order(benchmarks):
    table = L.benchmarks_table(benchmarks, ["response_pct"])
    assert table["id"].tolist() == [
        "feder2021_ketamine_response",
        "feder2021_midazolam_response",
        "osmind_response",
        "cochrane_ssri_response",
        "cochrane_placebo_response",
    ]
    assert table["value"].tolist() == [67, 20, 70, 58, 35]
    assert L.benchmarks_table(benchmarks, ["no_such_measure"]).empty


def test_placebo_paragraph_is_suppressed_with_the_cohorts_d_av(benchmarks):
    # Three completers: the outcome is suppressed, and so is the sentence built on it.
    outcome = stats_module.suppressed_outcome(make_cohort([50] * 3, [30, 25, 20]), 0.95, min_cell=5)
    placebo = L.placebo_sensitivity(outcome["d_av"], benchmarks=benchmarks)
    text = LT.benchmarks.paragraph(L.placebo_at_largest_control(placebo), outcome).data
    assert "suppressed with the cohort's d_av" in text
