"""No control group, at its edges: :mod:`ketamine_ptsd.analysis.limitations.benchmarks` on benchmark files made
up here, so each row and each default is known in advance (the real file is tested in
test_limitations_benchmarks.py). Expected values are the subtraction and percentages written out here."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ketamine_ptsd.analysis import limitations as L

from .cohorts import benchmark_entry

# In file order: a between-group effect, a control arm, an active arm, a benchmark without a number and one
# of another measure; the forest puts the active arm first, then the control, then the between-group effect.
FILE = [
    benchmark_entry("between", "between_group_g", None, 0.4, ci_low=0.1, ci_high=0.7, instrument="CAPS-5"),
    benchmark_entry("control", "within_group_d", "control", 0.56, instrument="CAPS-5"),
    benchmark_entry("active", "within_group_d", "active", 1.3, ci_low=1.0, ci_high=1.6, instrument="PCL-5"),
    benchmark_entry("missing", "within_group_d", "control", None),
    benchmark_entry("remission", "pct_remission", "active", 40.0),
]


def test_forest_rows_in_their_documented_order_and_columns():
    """The cohort's effect given as ``value`` (no ``d_av``) with its own label, instrument and source."""
    effect = {"value": 1.5, "ci_low": 1.2, "ci_high": 1.8, "label": "Ours", "instrument": "PCL-5 (ours)"}
    out = L.forest_rows(effect | {"source": "here"}, FILE)
    assert list(out.columns) == ["id", "label", "kind", "instrument", "measure", "value", "ci_low", "ci_high", "source"]
    assert out.to_dict(orient="records") == [
        {
            "id": "this_cohort",
            "label": "Ours",
            "kind": "this cohort",
            "instrument": "PCL-5 (ours)",
            "measure": "within_group_d",
            "value": 1.5,
            "ci_low": 1.2,
            "ci_high": 1.8,
            "source": "here",
        },
        {
            "id": "active",
            "label": "active label",
            "kind": "within-group active arm",
            "instrument": "PCL-5",
            "measure": "within_group_d",
            "value": 1.3,
            "ci_low": 1.0,
            "ci_high": 1.6,
            "source": "active source",
        },
        {
            "id": "control",
            "label": "control label",
            "kind": "within-group control arm",
            "instrument": "CAPS-5",
            "measure": "within_group_d",
            "value": 0.56,
            "ci_low": None,
            "ci_high": None,
            "source": "control source",
        },
        {
            "id": "between",
            "label": "between label",
            "kind": "between-group",
            "instrument": "CAPS-5",
            "measure": "between_group_g",
            "value": 0.4,
            "ci_low": 0.1,
            "ci_high": 0.7,
            "source": "between source",
        },
    ]


def test_forest_rows_defaults_and_the_cohorts_hidden_cells():
    """Without label, instrument or source the cohort's row says what it is; a value the small-cell rule hid
    (under ``value`` or ``d_av``) is listed as the row's ``value`` cell."""
    out = L.forest_rows({"value": None, "ci_low": None, "ci_high": 2.0, "suppressed": ["value", "ci_low"]}, FILE)
    first = out.iloc[0]
    assert (first["label"], first["instrument"], first["source"]) == ("This cohort (d_av)", "PCL-5", "this re-analysis")
    assert out.attrs["suppressed"] == [(0, "value"), (0, "ci_low")]
    hidden = L.forest_rows({"d_av": None, "ci_low": 1.0, "ci_high": 2.0, "suppressed": ["d_av"]}, FILE)
    assert hidden.attrs["suppressed"] == [(0, "value")]


def test_a_benchmark_that_is_not_there_and_a_table_without_rows():
    assert L.benchmark(FILE, "active")["value"] == 1.3
    assert L.benchmark(FILE, "absent") is None
    empty = L.benchmarks_table(FILE, ["between_group_d"])
    assert len(empty) == 0
    assert list(empty.columns) == [
        "id",
        "label",
        "instrument",
        "design",
        "arm_kind",
        "measure",
        "value",
        "n_arm",
        "n",
        "source",
        "note",
    ]


@pytest.mark.parametrize("observed", [None, math.nan, math.inf])
def test_no_placebo_table_without_a_finite_observed_d(observed):
    out = L.placebo_sensitivity(observed, benchmarks=FILE)
    assert len(out) == 0 and list(out.columns) == ["placebo_d", "remaining_d", "pct_of_observed"]


def test_the_default_placebo_grid_stops_at_the_largest_control_arm():
    """Controls 0.56 (and one without a number): steps of 0.1 from 0 to 0.5, never past 0.56, and 0.56 itself,
    the only row in the benchmarks' range and the only one naming a benchmark. Observed d 1.0: the remaining d
    is 1 - placebo d and its share of the observed 100 (1 - placebo d)."""
    out = L.placebo_sensitivity(1.0, benchmarks=FILE)
    assert out["placebo_d"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.56])
    assert out["remaining_d"].tolist() == pytest.approx([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.44])
    assert out["pct_of_observed"].tolist() == pytest.approx([100, 90, 80, 70, 60, 50, 44])
    assert out["in_benchmark_range"].tolist() == [False] * 6 + [True]
    assert out["benchmark_id"].tolist() == [None] * 6 + ["control"]


def test_without_control_arms_the_grid_is_zero_and_nothing_is_in_range():
    active_only = [b for b in FILE if b["arm_kind"] != "control"]
    out = L.placebo_sensitivity(0.8, benchmarks=active_only)
    assert out["placebo_d"].tolist() == [0.0] and out["in_benchmark_range"].tolist() == [False]
    assert L.placebo_at_largest_control(out) is None


def test_two_control_arms_of_one_size_are_both_named():
    """Two control arms with d 0.3, with the default step of 0.1: the grid is 0, 0.1, 0.2, 0.3 and the row at
    0.3 names both, ids joined by a comma and labels by a semicolon."""
    two = [
        benchmark_entry("a", "within_group_d", "control", 0.3),
        benchmark_entry("b", "within_group_d", "control", 0.3),
    ]
    out = L.placebo_sensitivity(0.6, benchmarks=two)
    assert out["placebo_d"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert out["benchmark_id"].iloc[-1] == "a, b" and out["benchmark_label"].iloc[-1] == "a label; b label"


def test_the_share_of_the_observed_d_is_undefined_only_at_zero():
    """At an observed d of 0 no share is given; at 1 it is 100 (1 - placebo d)."""
    zero = L.placebo_sensitivity(0.0, [0.0, 0.5], benchmarks=FILE)
    assert zero["pct_of_observed"].tolist() == [None, None]
    one = L.placebo_sensitivity(1.0, [0.0, 0.5], benchmarks=FILE)
    assert one["pct_of_observed"].tolist() == pytest.approx([100.0, 50.0])


def test_the_largest_control_row_needs_a_row_in_range():
    """A table without the range column, or with no row in range, has no such row."""
    assert L.placebo_at_largest_control(pd.DataFrame({"placebo_d": [0.5, 0.7]})) is None
    none_in = pd.DataFrame({"placebo_d": [0.5, 0.7], "in_benchmark_range": [False, False]})
    assert L.placebo_at_largest_control(none_in) is None
