"""Sentences the book writes about the data file (presentation/prose.py, durability_text.py): what they say for
the bundled reconstruction and for a user's file, checked against text typed here."""

from __future__ import annotations

from ketamine_ptsd.analysis import durability
from ketamine_ptsd.presentation import durability_text, prose


def test_the_opening_describes_the_papers_cohort_only_for_the_bundled_reconstruction():
    bundled, own = prose.opening("synthetic").data, prose.opening("user").data
    assert "outpatients of one New York City clinic" in bundled
    # A user's file is described as what it is: nothing of the paper's clinic, city or setting.
    assert "the patients of the data file it was built from" in own
    assert not any(word in own for word in ("New York", "outpatients", "psychedelic-style"))


def test_durability_values_not_computable_are_listed_by_their_readers_names():
    values = {key: None for key in durability.KEYS} | {"suppressed": ["durability_n_lost_response"]}
    text = durability_text.not_computable(values, durability.KEYS)
    assert set(durability.KEYS) <= set(durability_text.LABELS)  # every value has its words
    assert "- median days to loss of response (Kaplan-Meier) (`durability_median_days_to_loss`): not computable" in text
    assert "- of them, those who lost the response (`durability_n_lost_response`): suppressed (small-cell rule)" in text
    # The results.json name is only ever beside its words, never the label itself.
    assert all(line.startswith(f"- {durability_text.LABELS[line.split('`')[1]]} (`") for line in text.splitlines())


def test_the_prorated_totals_are_counted_with_their_rule():
    assert prose.prorated_note({"n_prorated_totals": 0}, 2, 5, has_items=False) is None  # totals as given
    assert "No PCL-5 total was prorated" in prose.prorated_note({"n_prorated_totals": 0}, 2, 5, True).data
    assert (
        "are not prorated (`pcl5_items_missing_max` is 0)"
        in prose.prorated_note({"n_prorated_totals": 0}, 0, 5, True).data
    )
    text = prose.prorated_note({"n_prorated_totals": 12}, 2, 5, True).data
    assert text.startswith("12 PCL-5 totals were prorated: an assessment with at most 2 of its 20 items empty")
    assert "the mean of the answered items x 20" in text and "{cite:t}`downey1998`" in text
    hidden = prose.prorated_note({"n_prorated_totals": None, "suppressed": ["n_prorated_totals"]}, 2, 5, True).data
    assert hidden.startswith("Some (suppressed: from fewer than 5 patients) PCL-5 totals were prorated")
