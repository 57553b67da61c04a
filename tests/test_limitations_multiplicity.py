"""Many tests: :mod:`ketamine_ptsd.analysis.limitations.multiplicity` against statsmodels, and its words,
:mod:`ketamine_ptsd.presentation.limitations.multiplicity`."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.presentation import limitations as LT


def test_multiplicity_matches_statsmodels():
    p = {
        "age": 0.01,
        "gender": 0.04,
        "days_between": 0.03,
        "n_psych_meds": 0.20,
        "psychotherapy": 0.004,
        "suicidal_ideation": None,
    }
    out = L.multiplicity(p).set_index("test")
    raw = np.array([0.01, 0.04, 0.03, 0.20, 0.004])
    names = ["age", "gender", "days_between", "n_psych_meds", "psychotherapy"]
    holm = multipletests(raw, alpha=0.05, method="holm")
    bonf = multipletests(raw, alpha=0.05, method="bonferroni")
    np.testing.assert_allclose(out.loc[names, "p_raw"].astype(float), raw)
    np.testing.assert_allclose(out.loc[names, "p_holm"].astype(float), holm[1])
    np.testing.assert_allclose(out.loc[names, "p_bonferroni"].astype(float), bonf[1])
    assert out.loc[names, "significant_holm"].tolist() == holm[0].tolist()
    assert out.loc[names, "significant_raw"].tolist() == (raw < 0.05).tolist()
    assert out.loc["suicidal_ideation", "p_holm"] is None
    # The book counts p strictly below alpha; statsmodels' Bonferroni also rejects 0.01 * 5 = alpha itself.
    assert bonf[0].sum() == 2
    assert out.attrs["n_significant"] == {"raw": 4, "holm": int(holm[0].sum()), "bonferroni": 1}
    assert out.loc["suicidal_ideation", "significant_raw"] is None
    assert out.attrs["k"] == 5
    assert out.attrs["fwer_uncorrected"] == pytest.approx(1 - 0.95**5)  # 0.2262
    assert L.familywise_error_rate(1, 0.05) == pytest.approx(0.05)


def test_multiplicity_ties_and_empty():
    out = L.multiplicity({"a": 0.02, "b": 0.02, "c": 0.9})
    np.testing.assert_allclose(out["p_holm"], multipletests([0.02, 0.02, 0.9], method="holm")[1])
    # Bonferroni caps at 1: 0.9 * 3 = 2.7.
    np.testing.assert_allclose(out["p_bonferroni"], multipletests([0.02, 0.02, 0.9], method="bonferroni")[1])
    assert out["p_bonferroni"].iloc[2] == 1
    empty = L.multiplicity({"a": None})
    assert empty.attrs["k"] == 0 and empty.attrs["fwer_uncorrected"] == 0
    assert empty.attrs["n_significant"] == {"raw": 0, "holm": 0, "bonferroni": 0}


def test_multiplicity_paragraph_carries_the_counts_or_says_there_is_no_family():
    tests = L.multiplicity({"a": 0.01, "b": 0.03, "c": 0.5})
    text = LT.multiplicity.paragraph(tests, 0, {"psychotherapy_p": 0.02, "suppressed": []}, 0.05, 5).data
    # 1 - 0.95^3 = 14.3%; Holm: 0.03, 0.06, 0.5; Bonferroni: 0.03, 0.09, 1.
    assert "would be 14%" in text and "2 of 3 before adjustment, 1 after Holm's" in text
    assert "1 after Bonferroni's (which needs p below 0.0167)" in text and "p = .020" in text
    no_tests = L.multiplicity({"age": None})
    text = LT.multiplicity.paragraph(no_tests, 2, {"psychotherapy_p": None, "suppressed": []}, 0.05, 5).data
    assert text.startswith("The data allow no moderator test") and "fewer than 5 completers" in text


def test_multiplicity_counts_p_exactly_at_alpha_as_not_significant():
    # Raw p = alpha; Holm's smallest p doubled (2 tests) is 0.025 * 2 = 0.05 = alpha, exactly in floating point.
    at = L.multiplicity({"a": 0.05, "b": 0.5}, alpha=0.05)
    assert at["significant_raw"].tolist() == [False, False]
    holm_at = L.multiplicity({"a": 0.025, "b": 0.5}, alpha=0.05)
    assert holm_at["p_holm"].iloc[0] == 0.05
    assert holm_at["significant_raw"].tolist() == [True, False]
    assert holm_at["significant_holm"].tolist() == [False, False]


def test_multiplicity_uses_its_alpha_for_the_familywise_rate():
    out = L.multiplicity({"a": 0.06, "b": 0.5, "c": 0.08}, alpha=0.10)
    assert out.attrs["fwer_uncorrected"] == pytest.approx(1 - 0.90**3)  # 0.271
    assert out.attrs["n_significant"] == {"raw": 2, "holm": 0, "bonferroni": 0}
