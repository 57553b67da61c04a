"""Every definition of improvement in analysis/outcomes.py at its cut-off: exactly at, just below, just above.

The expected verdicts are the data contract's definitions written out here, not another library function, so
a flipped comparison (``<`` for ``<=``) fails a case of this file. The hypothesis properties check what every
definition must do whatever the data: shares monotone in the threshold, and no dependence on patient order.
"""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ketamine_ptsd.analysis import outcomes


def test_remission_is_strictly_below_the_cutoff():
    # Contract: remission is a post-treatment total below 33 (so 32 remits, 33 does not).
    post = np.array([32, 33, 34])
    assert outcomes.remission(post, 33).tolist() == [True, False, False]


def test_clinically_significant_is_a_drop_of_at_least_mcid():
    # Contract: a drop of 10 or more points.
    change = np.array([9, 10, 11])
    assert outcomes.clinically_significant(change, 10).tolist() == [False, True, True]


def test_response_is_a_drop_of_at_least_the_fraction_of_baseline():
    # Baseline 50, fraction 0.3: the cut-off is a drop of 15 points, which counts.
    change = np.array([14, 15, 16])
    assert outcomes.response(change, np.array([50, 50, 50]), 0.3).tolist() == [False, True, True]
    # Each patient's own baseline: a drop of 15 is a response from 50 but not from 51 (0.3 * 51 = 15.3).
    assert outcomes.response(np.array([15, 15]), np.array([50, 51]), 0.3).tolist() == [True, False]


def test_reliable_change_threshold_is_the_jacobson_truax_formula():
    # 1.96 * SD * sqrt(2 (1 - r)): SD 10, r 0.875 gives 1.96 * 10 * sqrt(0.25) = 9.8.
    assert float(outcomes.reliable_change_threshold(10.0, 0.875)) == 1.96 * 10.0 * 0.5
    # r = 0.5: sqrt(2 * 0.5) = 1, so the threshold is 1.96 SD.
    assert math.isclose(float(outcomes.reliable_change_threshold(12.0, 0.5)), 1.96 * 12.0)


def test_reliable_improvement_is_a_drop_strictly_above_the_threshold():
    # Jacobson & Truax: RCI > 1.96, so a drop equal to the threshold is not reliable.
    change = np.array([9.8 - 0.5, 9.8, 9.8 + 0.5])
    assert outcomes.reliable_improvement(change, 9.8).tolist() == [False, False, True]


def test_marx_reliable_change_is_a_drop_of_at_least_the_points():
    change = np.array([9, 10, 11])
    assert outcomes.reliable_change_marx(change, 10).tolist() == [False, True, True]


def test_marx_clinically_significant_needs_both_the_drop_and_an_end_score_at_most_the_limit():
    # Marx et al. (2022): drop >= 10 and post <= 20. Vary each side across its cut-off with the other met.
    drop_varies = outcomes.clinically_significant_marx(np.array([9, 10, 11]), np.array([20, 20, 20]), 10, 20)
    assert drop_varies.tolist() == [False, True, True]
    end_varies = outcomes.clinically_significant_marx(np.array([10, 10, 10]), np.array([19, 20, 21]), 10, 20)
    assert end_varies.tolist() == [True, True, False]


scores = st.lists(st.integers(min_value=0, max_value=80), min_size=1, max_size=40)
thresholds = st.integers(min_value=-80, max_value=80)


@given(change=scores, low=thresholds, high=thresholds)
def test_shares_are_monotone_in_their_thresholds(change, low, high):
    # A stricter threshold can only lose patients: share(low) >= share(high) for a drop threshold low <= high,
    # and the reverse for an upper cut-off on the post score.
    low, high = min(low, high), max(low, high)
    change = np.array(change)
    for define in (outcomes.clinically_significant, outcomes.reliable_change_marx, outcomes.reliable_improvement):
        assert define(change, low).sum() >= define(change, high).sum()
    assert outcomes.remission(change, low).sum() <= outcomes.remission(change, high).sum()
    pre = change + 10
    assert outcomes.response(change, pre, low / 100).sum() >= outcomes.response(change, pre, high / 100).sum()


@given(change=scores, data=st.data())
def test_permuting_patients_permutes_the_verdicts(change, data):
    change = np.array(change)
    post = 80 - change
    order = np.array(data.draw(st.permutations(range(len(change)))))
    for verdict in (
        lambda c, p: outcomes.clinically_significant(c, 10),
        lambda c, p: outcomes.remission(p, 33),
        lambda c, p: outcomes.response(c, c + p, 0.3),
        lambda c, p: outcomes.reliable_improvement(c, 9.8),
        lambda c, p: outcomes.clinically_significant_marx(c, p, 10, 20),
    ):
        assert verdict(change[order], post[order]).tolist() == verdict(change, post)[order].tolist()
