"""Tests of the consistency checks against hand calculations, published examples and brute force."""

import itertools
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, getcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_ptsd.analysis.consistency import (
    closest_to,
    grim,
    grim_neighbours,
    grim_sums,
    grimmer,
    percent_counts,
    rounds_to,
)
from ketamine_ptsd.analysis.summary_effects import D_NAMES, d_definitions

getcontext().prec = 50


def _round(x: Fraction | Decimal, places: int, mode: str) -> float:
    """Independent rounding oracle: exact decimal arithmetic, then quantize."""
    if isinstance(x, Fraction):
        x = Decimal(x.numerator) / Decimal(x.denominator)
    return float(x.quantize(Decimal(1).scaleb(-places), rounding=mode))


# --------------------------------------------------------------------------- rounds_to
def test_rounds_to_accepts_both_tie_rules_and_nothing_else():
    # 0.125 is exactly representable: half-even gives 0.12, half-up gives 0.13.
    assert rounds_to(0.125, 0.12, 2) and rounds_to(0.125, 0.13, 2)
    assert not rounds_to(0.125, 0.14, 2)
    # 0.375 (exact in binary): half-even and half-up both give 0.38; 0.37 only by rounding half down.
    assert rounds_to(0.375, 0.38, 2)
    assert not rounds_to(0.375, 0.37, 2)
    assert not rounds_to(0.1349, 0.14, 2)
    # Negative tie -1.125: half away from zero gives -1.13, half-even -1.12.
    assert rounds_to(-1.125, -1.13, 2) and rounds_to(-1.125, -1.12, 2)
    assert not rounds_to(-1.125, -1.11, 2)


def test_rounds_to_rejects_a_value_reported_with_more_decimals_than_stated():
    with pytest.raises(ValueError):
        rounds_to(52.5, 52.538, 2)


# --------------------------------------------------------------------------- GRIM
def test_grim_brown_heathers_2017_worked_example():
    # Brown & Heathers 2017 (Soc Psychol Personal Sci 8:363): n = 28, mean 5.19 is impossible.
    # By hand: 5.19 * 28 = 145.32; 145/28 = 5.17857 -> 5.18 and 146/28 = 5.21429 -> 5.21.
    assert grim(5.19, 28, 2) is False
    assert grim_sums(5.18, 28, 2) == [145]
    assert grim_sums(5.21, 28, 2) == [146]


def test_grim_other_published_examples():
    # The Economist, 18 June 2016, "Come again" (quoted at replicationnetwork.com): 49 participants,
    # mean 5.93; 5.93 * 49 = 290.57; 290/49 = 5.91837 and 291/49 = 5.93878: inconsistent.
    assert not grim(5.93, 49, 2)
    # Wikipedia, "GRIM test": a die rolled 20 times cannot average 3.48 (multiples of 0.05 only).
    assert not grim(3.48, 20, 2)
    assert grim_sums(3.45, 20, 2) == [69]
    # scrutiny R package, GRIM vignette: grim(x = "5.27", n = 43) is FALSE.
    # By hand: 226/43 = 5.25581 and 227/43 = 5.27907.
    assert not grim(5.27, 43, 2)


def test_grim_multi_item_scale():
    # Brown & Heathers: with k items per person the granularity is 1/(n k).
    # n = 10 people, 2 items: multiples of 1/20 = 0.05; 46/20 = 2.30, 47/20 = 2.35.
    assert not grim(2.33, 10, 2, items=2)
    assert grim_sums(2.35, 10, 2, items=2) == [47]
    # The same mean is reachable if each person gives one whole-number score? 2.33*10 = 23.3: no.
    assert not grim(2.33, 10, 2)


def test_grim_ties_accept_both_rounding_rules():
    # Total 9 of n = 8 is 1.125 exactly: 1.12 (half to even) and 1.13 (half up) are both honest reports.
    assert grim_sums(1.12, 8, 2) == [9]
    assert grim_sums(1.13, 8, 2) == [9]
    assert not grim(1.14, 8, 2)  # 9/8 = 1.125, 10/8 = 1.25
    assert grim_sums(-1.13, 8, 2) == [-9] and grim_sums(-1.12, 8, 2) == [-9]


def test_grim_on_the_published_means_by_hand():
    # 52.54 * 117 = 6147.18 -> total 6147 -> 52.53846 rounds to 52.54 (6146 -> 52.52991, 6148 -> 52.54701).
    assert grim_sums(52.54, 117, 2) == [6147]
    # 52.39 * 117 = 6129.63 -> 6130/117 = 52.39316 (6129 -> 52.38462, 6131 -> 52.40171).
    assert grim_sums(52.39, 117, 2) == [6130]
    # 28.78 * 117 = 3367.26 -> 3367/117 = 28.77778 (3366 -> 28.76923, 3368 -> 28.78632).
    assert grim_sums(28.78, 117, 2) == [3367]
    # 29.42 * 117 = 3442.14 -> 3442/117 = 29.41880 (3441 -> 29.41026, 3443 -> 29.42735).
    assert grim_sums(29.42, 117, 2) == [3442]


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 60), total=st.integers(-500, 5000), mode=st.sampled_from([ROUND_HALF_UP, ROUND_HALF_EVEN]))
def test_grim_accepts_every_mean_that_integers_produce(n, total, mode):
    reported = _round(Fraction(total, n), 2, mode)
    assert total in grim_sums(reported, n, 2)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(100, 400), cents=st.integers(0, 8000))
def test_grim_cannot_fail_when_n_is_at_least_100_at_two_decimals(n, cents):
    # Multiples of 1/n are at most 0.01 apart, so every two-decimal mean is reachable.
    assert grim(cents / 100, n, 2)


def test_grim_neighbours_bracket_an_unreachable_mean():
    # 5.19 * 28 = 145.32: totals 145 and 146 give 5.179 and 5.214, neither rounds to 5.19.
    assert grim_neighbours(5.19, 28, 2) == (145, 146)
    assert grim_neighbours(52.54, 117, 2) == (6147, 6148)  # 52.54 * 117 = 6147.18


# --------------------------------------------------------------------------- GRIMMER
def test_grimmer_scrutiny_vignette_example():
    # scrutiny R package, GRIMMER vignette: grimmer(x = "7.3", sd = "2.51", n = 12) is FALSE.
    # By hand: totals 87 (7.25, a tie) and 88 (7.333). SD 2.51 means variance in [2.505^2, 2.515^2]
    # = [6.275025, 6.325225]; Q = 11 var + T^2/12.
    # T = 87: Q in [69.025 + 630.75, 69.577 + 630.75] = [699.78, 700.33] -> 700, even, but T is odd.
    # T = 88: Q in [69.025 + 645.333, 69.577 + 645.333] = [714.36, 714.91] -> no whole number.
    assert grimmer(7.3, 2.51, 12, 1, sd_decimals=2) is False


def test_grimmer_hand_cases():
    # (1, 1, 2, 3, 3): total 10, sum of squares 1+1+4+9+9 = 24, variance (24 - 100/5)/4 = 1.
    assert grimmer(2.00, 1.00, 5, 2)
    # SD 1.10 with n = 5, total 10: Q = 4 var + 20 with var in [1.095^2, 1.105^2] = [1.199025, 1.221025],
    # so Q in [24.796, 24.884]: no whole number.
    assert not grimmer(2.00, 1.10, 5, 2)


def test_grimmer_parity():
    # n = 4, mean 2.50 -> total 10 (even). SD 0.82 needs Q = 3 var + 25 with var in [0.815^2, 0.825^2]
    # = [0.664225, 0.680625], so Q in [26.99, 27.04] -> 27, odd: impossible with an even total.
    # Neighbours: Q = 26 -> SD sqrt(1/3) = 0.577; Q = 28 -> SD 1.000.
    assert not grimmer(2.50, 0.82, 4, 2)
    # (2, 2, 3, 3): Q = 4+4+9+9 = 26, SD = sqrt(1/3) = 0.57735 -> 0.58.
    assert grimmer(2.50, 0.58, 4, 2)


def test_grimmer_minimum_sum_of_squares():
    # n = 10, total 5 (mean 0.50): the most even split is five 1s and five 0s, Q = 5.
    # SD 0.24: var in [0.235^2, 0.245^2] -> Q = 9 var + 2.5 in [2.997, 3.040] -> Q = 3, odd like the
    # total, but below the minimum 5: impossible. (Q = 5 gives SD sqrt(2.5/9) = 0.527.)
    assert not grimmer(0.50, 0.24, 10, 2)
    assert grimmer(0.50, 0.53, 10, 2)


def test_grimmer_bounds():
    # n = 3, total 3. SD 1.73: var in [1.725^2, 1.735^2] = [2.9756, 3.0102] -> Q = 2 var + 3 = 9:
    # (0, 0, 3) gives 0+0+9 = 9. With scores limited to 0..2 the largest Q for total 3 is (2, 1, 0) -> 5.
    assert grimmer(1.00, 1.73, 3, 2)
    assert not grimmer(1.00, 1.73, 3, 2, lo=0, hi=2)
    # (0, 1, 2): Q = 5, SD = sqrt((5 - 3)/2) = 1.
    assert grimmer(1.00, 1.00, 3, 2, lo=0, hi=2)
    # Mean 2.50 of 4 scores in 0..2 is impossible (total at most 8 -> 2.00).
    assert not grimmer(2.50, 0.58, 4, 2, lo=0, hi=2)


def test_grimmer_arguments():
    with pytest.raises(ValueError):
        grimmer(1.0, 0.5, 1, 1)
    with pytest.raises(ValueError):
        grimmer(1.0, 0.5, 4, 1, lo=0)


def _reachable_pairs(n: int, values: range) -> set[tuple[float, float]]:
    """Every (mean, SD) pair, reported at 2 decimals by either rule, of n integers from ``values``."""
    pairs = set()
    for sample in itertools.combinations_with_replacement(values, n):
        total, q = sum(sample), sum(x * x for x in sample)
        mean = Fraction(total, n)
        var = Fraction(q * n - total * total, n * (n - 1))
        sd = (Decimal(var.numerator) / Decimal(var.denominator)).sqrt()
        for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN):
            pairs.add((_round(mean, 2, mode), _round(sd, 2, mode)))
    return pairs


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_grimmer_never_rejects_a_real_sample(n):
    # Brute force over every multiset of n scores from 0 to 6: each reported pair must pass.
    for mean, sd in _reachable_pairs(n, range(7)):
        assert grimmer(mean, sd, n, 2, lo=0, hi=6), (mean, sd)
        assert grimmer(mean, sd, n, 2), (mean, sd)


@pytest.mark.parametrize("n", [3, 5])
def test_grimmer_rejections_are_confirmed_by_brute_force(n):
    reachable = _reachable_pairs(n, range(7))
    means = sorted({m for m, _ in reachable})
    rejected = 0
    for mean in means:
        for cents in range(0, 451):
            sd = cents / 100
            if not grimmer(mean, sd, n, 2, lo=0, hi=6):
                rejected += 1
                assert (mean, sd) not in reachable
    # The test has teeth: GRIMMER rules out most of this grid for small n.
    assert rejected > len(means) * 300


def test_grimmer_known_limit_passes_an_unreachable_pair():
    # Documented limit: the conditions are necessary, not sufficient. n = 2, total 4, Q = 12 has the
    # right parity, but 4 = a + b with a^2 + b^2 = 12 has no integer solution ((2,2) -> 8, (1,3) -> 10,
    # (0,4) -> 16). Q = 12 gives SD sqrt(12 - 8) = 2.
    assert (2.0, 2.0) not in _reachable_pairs(2, range(-10, 15))
    assert grimmer(2.00, 2.00, 2, 2)


def test_grimmer_preprint_pairs():
    assert grimmer(52.39, 11.90, 117, 2, lo=0, hi=80)
    assert grimmer(29.42, 16.52, 117, 2, lo=0, hi=80)


# --------------------------------------------------------------------------- percentages
def test_percent_counts_by_hand():
    # 87/117 = 74.36%, 88/117 = 75.21%, 89/117 = 76.07%.
    assert percent_counts(75, 117) == [88]
    # 71/117 = 60.68%, 72/117 = 61.54%, 73/117 = 62.39%, 74/117 = 63.25%.
    assert percent_counts(62, 117) == [72, 73]
    # 1/3 = 33.33%, 2/3 = 66.67%: no count of 3 gives 50%.
    assert percent_counts(50, 3) == []
    assert percent_counts(33.3, 3, 1) == [1]
    # 1/8 = 12.5% exactly: reported as 12% (half to even) or 13% (half up).
    assert percent_counts(12, 8) == [1] and percent_counts(13, 8) == [1]


# --------------------------------------------------------------------------- d definitions
PRE = dict(pre_mean=52.39, pre_sd=11.90, post_mean=29.42, post_sd=16.52, n=117)


def test_closest_to_identifies_the_preprint_d_as_d_av():
    found = closest_to(1.60, d_definitions(**PRE, decimals=2), 2)
    assert found["matches"] == ["d_av"]
    assert found["closest"] == "d_av"
    # d_z = 1.60 needs SD of change 22.97/1.60 = 14.35625, i.e.
    # r = (11.90^2 + 16.52^2 - 14.35625^2) / (2 * 11.90 * 16.52) = (414.5204 - 206.10191) / 393.176 = 0.53009.
    assert found["r_for_d_z"] == pytest.approx(0.53009, abs=1e-4)
    # (11.90 + 16.52)/2 = 14.21 and 22.97/14.21 = 1.61647 -> 1.62 fits the arithmetic-mean-SD version only.
    assert closest_to(1.62, d_definitions(**PRE, decimals=2), 2)["matches"] == ["d_mean_sd"]
    none = closest_to(1.00, d_definitions(**PRE), 2)
    assert none["matches"] == [] and none["closest"] == "d_post"  # 22.97/16.52 = 1.39


# --------------------------------------------------------------------------- at the ties and edges
def _both_rules(x: Fraction, places: int) -> set[float]:
    return {_round(x, places, ROUND_HALF_UP), _round(x, places, ROUND_HALF_EVEN)}


def test_rounds_to_at_every_tie_of_whole_numbers_positive_zero_and_negative():
    # Quarters from -3.5 to 3.5 hold every tie k + 1/2 exactly; a value rounds to a reported whole number
    # when half up (away from zero) or half to even gives it.
    for k in range(-14, 15):
        x = Fraction(k, 4)
        for reported in range(-4, 5):
            assert rounds_to(float(x), float(reported), 0) == (reported in _both_rules(x, 0)), (x, reported)


def test_a_reported_value_may_carry_float_noise_up_to_a_millionth():
    assert rounds_to(1.0, 1.000001, 0)
    with pytest.raises(ValueError, match=r"^1\.00001 has more than 0 decimals$"):
        rounds_to(1.0, 1.00001, 0)
    with pytest.raises(ValueError, match="^decimals must be >= 0, got -1$"):
        rounds_to(1.0, 1.0, -1)


@pytest.mark.parametrize(("n", "items"), [(3, 1), (4, 2), (7, 3)])
def test_grim_sums_are_every_total_that_rounds_to_the_mean(n, items):
    count = n * items
    cases = [(m, 0) for m in (-2.0, -1.0, 0.0, 1.0, 3.0)] + [(m, 1) for m in (-1.5, -0.5, 0.0, 0.3, 2.5, 2.4, 4.1)]
    for mean, places in cases:
        want = [t for t in range(-100, 101) if mean in _both_rules(Fraction(t, count), places)]
        assert grim_sums(mean, n, places, items) == want, (mean, places)
        assert grim(mean, n, places, items) == bool(want)
    # neighbours of 4.1 over 21 values: 86.1 lies between 86 and 87
    assert grim_neighbours(4.1, 7, 1, items=3) == (86, 87)
    with pytest.raises(ValueError, match="^n and items must be >= 1$"):
        grim_sums(1.0, 0, 1)
    with pytest.raises(ValueError, match="^n and items must be >= 1$"):
        grim_sums(1.0, 3, 1, items=0)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_grimmer_never_rejects_a_real_sample_at_whole_number_precision(n):
    # Reported to 0 decimals (and the mean also to 1), both rules: SDs that are exact ties (0.5, 1.5, ...)
    # and means of 0 are among them, as are totals whose first candidate lies outside [n lo, n hi].
    for values in itertools.combinations_with_replacement(range(7), n):
        total = sum(values)
        mean = Fraction(total, n)
        variance = Fraction(sum(v * v for v in values) * n - total * total, n * (n - 1))
        sd = (Decimal(variance.numerator) / Decimal(variance.denominator)).sqrt()
        for m_places in (0, 1):
            for m in _both_rules(mean, m_places):
                for s in {_round(sd, 0, ROUND_HALF_UP), _round(sd, 0, ROUND_HALF_EVEN)}:
                    assert grimmer(m, s, n, m_places, lo=0, hi=6, sd_decimals=0), (values, m, s)


def _extreme_sums_of_squares(total, n, lo, hi):
    squares = [sum(v * v for v in vs) for vs in itertools.product(range(lo, hi + 1), repeat=n) if sum(vs) == total]
    return min(squares), max(squares)


@pytest.mark.parametrize(("n", "lo", "hi"), [(3, 0, 4), (4, 1, 5), (2, 3, 3), (3, -2, 2)])
def test_smallest_and_largest_sums_of_squares_by_enumeration(n, lo, hi):
    from ketamine_ptsd.analysis.consistency import _max_sum_squares, _min_sum_squares

    for total in range(n * lo, n * hi + 1):
        smallest, largest = _extreme_sums_of_squares(total, n, lo, hi)
        assert _min_sum_squares(total, n) == smallest, total
        assert _max_sum_squares(total, n, lo, hi) == largest, total


def test_grimmer_rejects_a_negative_sd_and_checks_its_bounds():
    assert not grimmer(3.0, -1.0, 4, 1)
    assert grimmer(3.0, 0.0, 4, 1, lo=3, hi=3)  # every score 3: the one sample there is
    with pytest.raises(ValueError, match="^lo must not exceed hi$"):
        grimmer(3.0, 1.0, 4, 1, lo=5, hi=3)
    for lo, hi in ((0, None), (None, 6)):
        with pytest.raises(ValueError, match="^give both lo and hi, or neither$"):
            grimmer(3.0, 1.0, 4, 1, lo=lo, hi=hi)
    with pytest.raises(ValueError, match="^a standard deviation needs n >= 2$"):
        grimmer(3.0, 1.0, 1, 1)


def test_grimmer_window_by_hand():
    from ketamine_ptsd.analysis.consistency import grimmer_window

    # (n - 1) (high^2 - max(low, 0)^2), with SD 0.5 at 1 decimal: high 0.55, low 0.45
    assert grimmer_window(0.5, 5, 1) == pytest.approx(4 * (0.55**2 - 0.45**2))
    # SD 0.0: the lower end -0.05 is no bound, so the window starts at 0
    assert grimmer_window(0.0, 5, 1) == pytest.approx(4 * 0.05**2)


def test_percent_counts_at_the_ends_of_the_scale():
    assert percent_counts(0, 10) == [0]
    assert percent_counts(100, 1) == [1]
    # 99.5% rounds to 100 under both rules, so 995 to 1000 of 1000 all give 100%
    assert percent_counts(100, 1000) == list(range(995, 1001))
    with pytest.raises(ValueError, match="^n must be >= 1$"):
        percent_counts(50, 0)


def test_closest_to_includes_the_ties_of_a_value_and_the_ends_of_a_range():
    defs = d_definitions(50.0, 10.0, 40.0, 10.0, 100)
    names = list(D_NAMES)
    # Reported 2 at 0 decimals: 1.5 (half up) and 2.5 (half to even) both round to it.
    for value in (1.5, 2.5):
        exact = {**defs, **dict.fromkeys(names, value), "ranges": None}
        assert closest_to(2.0, exact, 0)["matches"] == names, value
    # A range that only touches the interval at an end still matches.
    touching = {**defs, "ranges": {name: (0.0, 1.5) for name in names}}
    assert closest_to(2.0, touching, 0)["matches"] == names
    touching = {**defs, "ranges": {name: (2.5, 3.0) for name in names}}
    assert closest_to(2.0, touching, 0)["matches"] == names
    zero = closest_to(0.0, defs, 2)
    assert zero["r_for_d_z"] is None and set(zero["differences"]) == set(names)
