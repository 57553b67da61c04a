"""No control group, value by value: :mod:`ketamine_ptsd.analysis.limitations.benchmarks` on benchmark files
made up here. Expected values are the subtraction, the shares and the d_av denominator written out in each
test, or lists written by hand; never a call to the library."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ketamine_ptsd.analysis import limitations as L

from .cohorts import benchmark_entry

# Control arms at 0.5 and 1.2; an active arm at 2.0, a control arm of another measure at 3.0 and a control arm
# without a number, none of which may widen the control range.
CONTROLS = [
    benchmark_entry("low", "within_group_d", "control", 0.5),
    benchmark_entry("active", "within_group_d", "active", 2.0),
    benchmark_entry("high", "within_group_d", "control", 1.2),
    benchmark_entry("other_measure", "pct_remission", "control", 3.0),
    benchmark_entry("no_number", "within_group_d", "control", None),
]


def test_whole_number_placebo_ds_give_the_same_table_as_decimals():
    """Placebo ds written 0 and 1 give the table that 0.0 and 1.0 give, float columns included. By hand, with
    observed d 1.6, change 10 points and SDs 3 and 4: the d_av denominator is sqrt((9 + 16) / 2) = sqrt(12.5);
    remaining d 1.6 and 0.6, shares 100% and 37.5%, placebo points 0 and sqrt(12.5)."""
    kwargs = {"benchmarks": CONTROLS, "observed_change": 10.0, "sd_pre": 3.0, "sd_post": 4.0}
    whole = L.placebo_sensitivity(1.6, [0, 1], **kwargs)
    decimal = L.placebo_sensitivity(1.6, [0.0, 1.0], **kwargs)
    pd.testing.assert_frame_equal(whole, decimal)
    assert str(whole["placebo_d"].dtype) == "float64"
    assert [type(v) for v in whole.to_dict(orient="records")[1].values()][:3] == [float, float, float]
    sd_av = math.sqrt(12.5)
    assert whole["placebo_d"].tolist() == [0.0, 1.0]
    assert whole["remaining_d"].tolist() == pytest.approx([1.6, 0.6])
    assert whole["pct_of_observed"].tolist() == pytest.approx([100.0, 37.5])
    assert whole["placebo_points"].tolist() == pytest.approx([0.0, sd_av])
    assert whole["remaining_points"].tolist() == pytest.approx([10.0, 10.0 - sd_av])
    # 0 lies below the control range [0.5, 1.2], 1 inside it.
    assert whole["in_benchmark_range"].tolist() == [False, True]


def test_the_benchmark_range_at_and_beside_its_ends():
    """The range runs from the smallest control-arm d (0.5) to the largest (1.2), both ends included; the
    active arm at 2.0 and the control of another measure at 3.0 do not widen it. Only the two ends name an
    arm."""
    placebo = [0.4999, 0.5, 0.5001, 1.1999, 1.2, 1.2001, 2.0, 3.0]
    out = L.placebo_sensitivity(1.6, placebo, benchmarks=CONTROLS)
    assert out["in_benchmark_range"].tolist() == [False, True, True, True, True, False, False, False]
    assert out["benchmark_id"].tolist() == [None, "low", None, None, "high", None, None, None]
    assert out["benchmark_label"].tolist() == [None, "low label", None, None, "high label", None, None, None]
    assert out["remaining_d"].tolist() == pytest.approx([1.6 - d for d in placebo])
    assert out["pct_of_observed"].tolist() == pytest.approx([100 * (1.6 - d) / 1.6 for d in placebo])


def test_the_default_grid_around_a_whole_number_of_steps():
    """Largest control d 0.3 with step 0.1 (0.3 / 0.1 = 2.9999999999999996 in floating point): the grid reaches
    0.3 and that row is the control arm's, not a second one. A control d a hair below (0.2999) stops the
    steps at 0.2; a hair above (0.3001) keeps 0.3 as a step of its own beside the arm."""
    at = L.placebo_sensitivity(1.0, benchmarks=[benchmark_entry("c", "within_group_d", "control", 0.3)])
    assert at["placebo_d"].tolist() == [0.0, 0.1, 0.2, 0.3]
    assert at["benchmark_id"].tolist() == [None, None, None, "c"]
    below = L.placebo_sensitivity(1.0, benchmarks=[benchmark_entry("c", "within_group_d", "control", 0.2999)])
    assert below["placebo_d"].tolist() == [0.0, 0.1, 0.2, 0.2999]
    above = L.placebo_sensitivity(1.0, benchmarks=[benchmark_entry("c", "within_group_d", "control", 0.3001)])
    assert above["placebo_d"].tolist() == [0.0, 0.1, 0.2, 0.3, 0.3001]
    assert above["in_benchmark_range"].tolist() == [False, False, False, False, True]


def test_a_step_of_a_quarter_and_two_control_arms():
    """Step 0.25 up to the larger control d, 1.0, with the smaller, 0.6, added as its own row: 0, 0.25, 0.5,
    0.6, 0.75, 1.0, sorted; in range from 0.6 to 1.0. Observed d 2: remaining 2 - d, share 50 (2 - d)."""
    two = [
        benchmark_entry("a", "within_group_d", "control", 1.0),
        benchmark_entry("b", "within_group_d", "control", 0.6),
    ]
    out = L.placebo_sensitivity(2.0, benchmarks=two, step=0.25)
    grid = [0.0, 0.25, 0.5, 0.6, 0.75, 1.0]
    assert out["placebo_d"].tolist() == grid
    assert out["in_benchmark_range"].tolist() == [False, False, False, True, True, True]
    assert out["benchmark_id"].tolist() == [None, None, None, "b", None, "a"]
    assert out["remaining_d"].tolist() == pytest.approx([2.0 - d for d in grid])
    assert out["pct_of_observed"].tolist() == pytest.approx([50 * (2.0 - d) for d in grid])


def test_a_negative_observed_d_and_points_only_with_every_sd():
    """An observed d of -0.5 (scores rose): a placebo d of 0.5 leaves -1.0, 200% of the observed. Points need
    the change and both SDs: with one SD missing there are none."""
    out = L.placebo_sensitivity(-0.5, [0.5], benchmarks=CONTROLS, observed_change=-4.0, sd_pre=6.0)
    assert out["remaining_d"].tolist() == pytest.approx([-1.0])
    assert out["pct_of_observed"].tolist() == pytest.approx([200.0])
    assert "placebo_points" not in out and "remaining_points" not in out
    # All three given: 0.5 * sqrt((36 + 64) / 2) = 0.5 * sqrt(50) points, and the change minus that.
    full = L.placebo_sensitivity(-0.5, [0.5], benchmarks=CONTROLS, observed_change=-4.0, sd_pre=6.0, sd_post=8.0)
    assert full["placebo_points"].tolist() == pytest.approx([0.5 * math.sqrt(50)])
    assert full["remaining_points"].tolist() == pytest.approx([-4.0 - 0.5 * math.sqrt(50)])


def test_a_benchmark_without_a_label_is_named_by_its_id():
    """A control arm whose label is empty is named by its id in ``benchmark_label``."""
    out = L.placebo_sensitivity(
        1.0, [0.4], benchmarks=[benchmark_entry("bare", "within_group_d", "control", 0.4, label="")]
    )
    assert out["benchmark_id"].tolist() == ["bare"] and out["benchmark_label"].tolist() == ["bare"]


def test_the_largest_control_row_is_the_largest_d_in_range_in_any_row_order():
    """Rows in range at 1.2 (first) and 1.0; 1.5 is larger but out of range. The row at 1.2 comes back whole."""
    table = pd.DataFrame(
        {
            "placebo_d": [1.2, 1.5, 1.0, 0.2],
            "remaining_d": [0.4, 0.1, 0.6, 1.4],
            "in_benchmark_range": [True, False, True, False],
        }
    )
    row = L.placebo_at_largest_control(table)
    assert row.name == 0
    assert (row["placebo_d"], row["remaining_d"]) == (1.2, 0.4)
    # A table with the column but no rows at all.
    empty = pd.DataFrame({"placebo_d": [], "in_benchmark_range": []})
    assert L.placebo_at_largest_control(empty) is None


def test_forest_rows_gather_every_between_group_measure_last_in_file_order():
    """Between-group d, g and SMD are all between-group rows, after the arms whatever their place in the file;
    within each kind file order is kept. A within-group d of an arm that is neither active nor control, and a
    between-group number of another measure, are left out."""
    file = [
        benchmark_entry("smd", "between_group_smd", None, 0.3),
        benchmark_entry("ctl1", "within_group_d", "control", 0.9),
        benchmark_entry("d", "between_group_d", None, 0.5),
        benchmark_entry("act1", "within_group_d", "active", 1.4),
        benchmark_entry("other_arm", "within_group_d", "waitlist", 0.2),
        benchmark_entry("ratio", "between_group_or", None, 2.0),
        benchmark_entry("g", "between_group_g", None, 0.4),
        benchmark_entry("ctl2", "within_group_d", "control", 0.7),
        benchmark_entry("act2", "within_group_d", "active", 1.1),
    ]
    out = L.forest_rows({"d_av": 1.5, "ci_low": 1.1, "ci_high": 1.9}, file)
    assert out["id"].tolist() == ["this_cohort", "act1", "act2", "ctl1", "ctl2", "smd", "d", "g"]
    assert (
        out["kind"].tolist()
        == ["this cohort"] + ["within-group active arm"] * 2 + ["within-group control arm"] * 2 + ["between-group"] * 3
    )
    assert out["value"].tolist() == [1.5, 1.4, 1.1, 0.9, 0.7, 0.3, 0.5, 0.4]
    assert out["measure"].tolist()[5:] == ["between_group_smd", "between_group_d", "between_group_g"]


def test_benchmark_numbers_keep_zeros_and_drop_only_none():
    """A value of 0 and an n of 0 are published numbers (kept); None is not (left out)."""
    b = benchmark_entry("z", "within_group_d", "control", 0.0, ci_low=-0.2, ci_high=0.2, n=0, range_low=None)
    assert L.benchmark_numbers([b]) == {"z": 0.0, "z_ci_low": -0.2, "z_ci_high": 0.2, "z_n": 0}
