"""Durability at its edges: a follow-up on a window's edge, the values without a fit, the small-cell sizes, and
the choice among optimisers (on a stand-in model whose log-likelihoods are written here), each against the
rule written out in the test."""

from __future__ import annotations

import numpy as np
import pytest

from ketamine_ptsd.analysis import durability

from .test_durability import LMM, tables


def test_a_followup_on_a_windows_end_belongs_to_that_window_and_not_the_next():
    # Windows (0, 30] and (30, 90]: day 30 is the first's last day; day 90 the second's.
    rows = [("a", 0, 20), ("a", 30, 25), ("b", 0, 20), ("b", 90, 30), ("c", 0, 20), ("c", 31, 40)]
    cohort, later = tables(rows, pre=50)
    table = durability.by_window(cohort, later, [30, 90], 0.30)
    assert table[["window_start", "window_end", "n"]].values.tolist() == [[0, 30, 1], [30, 90, 2]]
    assert table["mean_pcl5"].tolist() == [25.0, (30 + 40) / 2]


def test_a_slope_that_could_not_be_fitted_has_every_key_and_no_estimate():
    # One patient followed (a: post and one follow-up; b: post only): no slope, two are needed.
    cohort, later = tables([("a", 0, 20), ("a", 40, 25), ("b", 0, 30)])
    none = {**dict.fromkeys(durability.SLOPE_KEYS), "converged": None, "gradient": None}
    assert durability.slope(cohort, later, 0.95) == {**none, "n_patients": 1, "n_observations": 3}
    # Nobody followed: no observations count either.
    cohort, later = tables([("a", 0, 20), ("b", 0, 30)])
    assert durability.slope(cohort, later, 0.95) == {**none, "n_patients": 0, "n_observations": 0}


@pytest.mark.parametrize(("low", "high"), [(None, 1.0), (-1.0, None), (None, None)])
def test_no_verdict_without_both_ends_of_the_interval(low, high):
    assert durability.verdict(low, high, 0.83) is None


def test_durability_values_without_followups_and_at_another_level():
    cohort, later = tables([("a", 0, 20), ("b", 0, 30)])
    assert durability.durability_values(cohort, later[later["assessment"] == "followup"], 0.3, 0.95, 0) == {
        **dict.fromkeys(durability.KEYS),
        "suppressed": [],
    }
    # The level reaches the slope's Wald interval: at 90% it is the 95% one narrowed by z(.95) / z(.975).
    cohort, later = tables(LMM)
    wide = durability.durability_values(cohort, later, 0.3, 0.95, 0, min_patients=6)
    narrow = durability.durability_values(cohort, later, 0.3, 0.90, 0, min_patients=6)
    centre = wide["durability_slope_per_month"]
    assert narrow["durability_slope_per_month"] == pytest.approx(centre)
    ratio = 1.6448536269514722 / 1.959963984540054
    assert narrow["durability_slope_ci_high"] - centre == pytest.approx(
        ratio * (wide["durability_slope_ci_high"] - centre)
    )
    # The minimum for a random slope reaches the model: six patients followed, seven asked for.
    assert wide["durability_slope_random_slope"] is True
    without = durability.durability_values(cohort, later, 0.3, 0.95, 0, min_patients=7)
    assert without["durability_slope_random_slope"] is False


def test_a_lost_count_is_hidden_when_the_responses_kept_are_few():
    # Six responders followed (post 20 of 50), five lost (a follow-up of 40 > 35), one kept: the count of 5 lost
    # tells that 1 kept, a small cell at min_cell 3.
    rows = [(p, 0, 20) for p in "abcdef"] + [(p, 60, 40) for p in "abcde"] + [("f", 60, 22)]
    cohort, later = tables(rows, pre=50)
    values = durability.durability_values(cohort, later, 0.3, 0.95, min_cell=3)
    assert values["durability_n_responders_followed"] == 6
    assert values["durability_n_lost_response"] is None and "durability_n_lost_response" in values["suppressed"]
    assert durability.durability_values(cohort, later, 0.3, 0.95, min_cell=0)["durability_n_lost_response"] == 5


def test_a_window_of_few_patients_hides_its_responders_even_when_none_responded():
    # Window (0, 30]: two patients, neither a responder at post (40 > 35); min_cell 3 hides the window's count,
    # so its count of responders (0 of those 2) and their share go too.
    rows = [("a", 0, 40), ("a", 20, 41), ("b", 0, 45), ("b", 25, 44)] + [(p, 0, 20) for p in "cdef"]
    rows += [(p, 60, 22) for p in "cdef"]
    cohort, later = tables(rows, pre=50)
    table = durability.window_table(cohort, later, [30, 90], 0.3, min_cell=3)
    assert table.loc[0, "n"] is None and table.loc[0, "n_responders"] is None
    assert (0, "n_responders") in table.attrs["suppressed"]
    assert table.loc[1, "n"] == 4 and table.loc[1, "n_responders"] == 4


class _Fit:
    def __init__(self, llf, params):
        self.llf, self.params_object = llf, params


class _Model:
    """A stand-in for statsmodels' mixed model: each optimiser's log-likelihood (None: it raises), the
    gradient at each parameter value, and BFGS's result when started from a fit."""

    def __init__(self, llf, gradient, refined=None):
        self.llf, self.gradient, self.refined, self.calls = llf, gradient, refined, []

    def fit(self, reml, method, start_params=None):
        self.calls.append((method, start_params))
        if start_params is not None:
            return _Fit(self.refined, "refined")
        if self.llf[method] is None:
            raise np.linalg.LinAlgError("singular")
        return _Fit(self.llf[method], method)

    def score_sqrt(self, params):
        return [np.array([self.gradient[params], -0.0]), None]


def test_the_fit_with_the_highest_likelihood_is_kept_the_first_among_equals():
    llf = {"lbfgs": -50.0, "bfgs": -40.0, "cg": -40.0, "powell": None, "nm": float("-inf")}
    model = _Model(llf, {"bfgs": 0.001, "cg": 0.001})
    assert durability._best_fit(model)[0] == "bfgs"
    model = _Model({**llf, "cg": -39.0}, {"bfgs": 0.001, "cg": 0.02})
    method, fit, gradient = durability._best_fit(model)
    assert (method, fit.llf, gradient) == ("cg", -39.0, 0.02)  # below the tolerance 0.05: not refined
    assert [m for m, start in model.calls if start is not None] == []


def test_no_optimiser_reaching_a_finite_likelihood_gives_no_fit():
    model = _Model(dict.fromkeys(durability._METHODS, float("nan")), {})
    assert durability._best_fit(model) == (None, None, None)
    model = _Model(dict.fromkeys(durability._METHODS), {})
    assert durability._best_fit(model) == (None, None, None)


@pytest.mark.parametrize(
    ("gradient", "refined", "expected"),
    [
        (0.05, -30.0, ("powell, then bfgs", -30.0, 0.001)),  # at the tolerance: taken on by BFGS
        (0.049, -30.0, ("powell", -31.0, 0.049)),  # below it: kept as it is
        (0.5, -31.0, ("powell, then bfgs", -31.0, 0.001)),  # BFGS as good: its fit, with its gradient
        (0.5, -31.5, ("powell", -31.0, 0.5)),  # BFGS worse: the first fit stays
    ],
)
def test_a_fit_short_of_the_tolerance_is_taken_on_by_bfgs_when_that_is_no_worse(gradient, refined, expected):
    llf = {"lbfgs": -40.0, "bfgs": -40.0, "cg": -40.0, "powell": -31.0, "nm": -35.0}
    model = _Model(llf, {"powell": gradient, "refined": 0.001}, refined=refined)
    method, fit, got = durability._best_fit(model)
    assert (method, fit.llf, got) == expected
    if gradient >= 0.05:
        assert ("bfgs", "powell") in model.calls  # BFGS starts from the kept fit's parameters


def test_a_model_no_optimiser_could_fit_is_reported_as_not_converged(monkeypatch):
    monkeypatch.setattr(durability, "_best_fit", lambda model: (None, None, None))
    cohort, later = tables(LMM)
    fit = durability.slope(cohort, later, 0.95, min_patients=6)
    assert fit["converged"] is False and fit["gradient"] is None
    assert all(fit[key] is None for key in durability.SLOPE_KEYS)
