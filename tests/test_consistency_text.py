"""Tests of the consistency checks in words: each sentence states the numbers the check found."""

from ketamine_ptsd.analysis.consistency import closest_to
from ketamine_ptsd.analysis.summary_effects import d_definitions
from ketamine_ptsd.presentation.consistency_text import (
    explain_closest,
    explain_grim,
    explain_grimmer,
    explain_percent_counts,
)

PRE = dict(pre_mean=52.39, pre_sd=11.90, post_mean=29.42, post_sd=16.52, n=117)


def test_explain_grim_states_the_numbers():
    text = explain_grim(52.54, 117, 2)
    assert "1/117" in text and "6147" in text and "52.53846" in text
    assert "could not have failed" in text
    bad = explain_grim(5.19, 28, 2)
    assert "not reachable" in bad and "145" in bad and "146" in bad
    assert "could not have failed" not in explain_grim(5.18, 28, 2)


def test_explain_grimmer_states_the_witness_and_when_it_could_not_fail():
    text = explain_grimmer(52.39, 11.90, 117, 2, lo=0, hi=80)
    assert "6130" in text and "could not have failed" in text
    assert "cannot both be right" in explain_grimmer(2.50, 0.82, 4, 2)


def test_explain_percent_counts():
    text = explain_percent_counts(75, 117)
    assert "88" in text and "75.21%" in text and "74.36%" in text and "76.07%" in text
    assert "No whole number" in explain_percent_counts(50, 3)


def test_explain_closest_names_the_definition_and_the_correlation_d_z_needs():
    defs = d_definitions(**PRE, decimals=2)
    text = explain_closest(closest_to(1.60, defs, 2), defs, 2)
    assert text.startswith("The reported d of 1.60 is reproduced by d_av") and "r = 0.53" in text
    none = d_definitions(**PRE)
    assert "the closest is d_post" in explain_closest(closest_to(1.00, none, 2), none, 2)
