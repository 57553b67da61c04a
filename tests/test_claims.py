"""Tests of the published-claims file and its comparison with recomputed results."""

import json

import numpy as np
import pytest
import yaml

from ketamine_ptsd.claims import CLAIMS_PATH, KINDS, compare_claims, conflicts, consistency_report, load_claims


@pytest.fixture(scope="module")
def claims():
    return load_claims()


def _by_id(rows):
    return {row["id"]: row for row in rows}


# --------------------------------------------------------------------------- the file
def test_every_study_number_in_the_reference_facts_is_a_claim(claims):
    values = {claim["id"]: claim["value"] for claim in claims}
    # Transcribed from REFERENCE_FACTS.md ("The study"): published version and preprint abstract.
    expected = {
        "n_patients": 117,
        "pre_mean_published": 52.54,
        "pre_mean_preprint": 52.39,
        "pre_sd_preprint": 11.90,
        "post_mean_published": 28.78,
        "post_mean_preprint": 29.42,
        "post_sd_preprint": 16.52,
        "d_preprint": 1.60,
        "pct_clinically_significant_published": 75,
        "pct_remission_published": 62,
        "psychotherapy_d_preprint": 0.42,
        "mean_infusions_published": "nearly five",
        "infusions_protocol_preprint": "at least six administrations",
    }
    for claim_id, value in expected.items():
        assert values[claim_id] == value, claim_id
    moderators = {c["result_key"] for c in claims if c["id"].endswith("_not_significant_preprint")}
    assert moderators == {
        "moderator_p_age", "moderator_p_gender", "moderator_p_days_between",
        "moderator_p_n_psych_meds", "moderator_p_suicidal_ideation",
    }
    assert {"women_majority", "race_unreported_nearly_half", "no_serious_adverse_events_preprint"} <= set(values)


def test_claim_fields(claims):
    for claim in claims:
        assert claim["kind"] in KINDS
        assert claim["meaning"].endswith(".")
        if claim["result_key"] is None:
            assert claim["why_not"]
        if claim["kind"] in ("number", "percent"):
            assert isinstance(claim["decimals"], int)
        else:
            assert claim["decimals"] is None


def test_load_claims_reports_every_problem(tmp_path):
    bad = {
        "claims": [
            {"id": "a", "version": "preprint", "source": "s", "source_detail": "d", "value": "x",
             "decimals": None, "kind": "guess", "result_key": None, "meaning": "m."},
            {"id": "a", "version": "preprint", "source": "s", "source_detail": "d", "value": 3,
             "decimals": 0, "kind": "at_least", "result_key": "pre_mean", "meaning": "m."},
        ]
    }
    path = tmp_path / "claims.yml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError) as info:
        load_claims(path)
    message = str(info.value)
    assert "kind 'guess'" in message
    assert "why_not" in message
    assert "needs a numeric 'low'" in message
    assert "duplicate id" in message


def test_default_path_is_the_repository_data_file():
    assert CLAIMS_PATH.name == "published_claims.yml" and CLAIMS_PATH.parent.name == "data"
    assert CLAIMS_PATH.is_file()


# --------------------------------------------------------------------------- comparison
def _only(claims, claim_id, results):
    [row] = compare_claims([c for c in claims if c["id"] == claim_id], results)
    return row


def test_number_claims_compare_at_the_reported_precision(claims):
    assert _only(claims, "pre_mean_published", {"pre_mean": 6147 / 117})["status"] == "matches"  # 52.53846
    assert _only(claims, "pre_mean_published", {"pre_mean": 52.5449})["status"] == "matches"
    assert _only(claims, "pre_mean_published", {"pre_mean": 52.5451})["status"] == "differs"
    assert _only(claims, "pre_mean_published", {"pre_mean": 52.5349})["status"] == "differs"
    row = _only(claims, "pre_sd_preprint", {"pre_sd": 11.8951})
    assert row["status"] == "matches" and row["published"] == "11.90" and row["recomputed_display"] == "11.90"
    assert row["recomputed"] == 11.8951
    assert _only(claims, "n_patients", {"n_patients": 116})["status"] == "differs"


def test_percent_claims_compare_rounded_percentages(claims):
    # 88/117 = 75.21% -> 75%; 87/117 = 74.36% -> 74%.
    row = _only(claims, "pct_clinically_significant_published", {"pct_clinically_significant": 100 * 88 / 117})
    assert row["status"] == "matches" and row["recomputed_display"] == "75%" and row["published"] == "75%"
    row = _only(claims, "pct_clinically_significant_published", {"pct_clinically_significant": 100 * 87 / 117})
    assert row["status"] == "differs"
    # 73/117 = 62.39% and 72/117 = 61.54% both round to 62%.
    for k in (72, 73):
        assert _only(claims, "pct_remission_published", {"pct_remission": 100 * k / 117})["status"] == "matches"


def test_conditions_in_words(claims):
    def status(claim_id, key, value):
        return _only(claims, claim_id, {key: value})["status"]

    # "most were women": strictly more than half.
    assert status("women_majority", "pct_women", 50.0) == "differs"
    assert status("women_majority", "pct_women", 50.1) == "matches"
    # "nearly half": 40% up to, not including, 50%.
    assert status("race_unreported_nearly_half", "pct_race_unreported", 49.9) == "matches"
    assert status("race_unreported_nearly_half", "pct_race_unreported", 40.0) == "matches"
    assert status("race_unreported_nearly_half", "pct_race_unreported", 50.0) == "differs"
    assert status("race_unreported_nearly_half", "pct_race_unreported", 39.9) == "differs"
    # "not significant": p >= .05.
    assert status("moderator_age_not_significant_preprint", "moderator_p_age", 0.05) == "matches"
    assert status("moderator_age_not_significant_preprint", "moderator_p_age", 0.0499) == "differs"
    # "did reach significance": p < .05.
    assert status("psychotherapy_moderator_significant_preprint", "moderator_p_psychotherapy", 0.049) == "matches"
    assert status("psychotherapy_moderator_significant_preprint", "moderator_p_psychotherapy", 0.05) == "differs"
    # "large": d_av >= 0.8 by Cohen's convention.
    assert status("effect_large_published", "d_av", 0.79) == "differs"
    assert status("effect_large_published", "d_av", 1.65) == "matches"
    # "nearly five" infusions and "at least six" cannot both match.
    assert status("mean_infusions_published", "mean_infusions", 4.8) == "matches"
    assert status("mean_infusions_published", "mean_infusions", 5.0) == "differs"
    assert status("infusions_protocol_preprint", "mean_infusions", 4.8) == "differs"
    assert status("infusions_protocol_preprint", "mean_infusions", 6.0) == "matches"
    assert status("psychotherapy_greater_reduction_published", "psychotherapy_d", -0.1) == "differs"


def test_p_values_are_shown_as_p_values(claims):
    row = _only(claims, "moderator_age_not_significant_preprint", {"moderator_p_age": 0.0004})
    assert row["recomputed_display"] == "p < 0.001"
    row = _only(claims, "moderator_age_not_significant_preprint", {"moderator_p_age": 0.41234})
    assert row["recomputed_display"] == "p = 0.412"


def test_not_computable(claims):
    # No result_key: the note gives the reason from the file.
    row = _only(claims, "no_serious_adverse_events_preprint", {})
    assert row["status"] == "not computable" and "adverse-event" in row["note"]
    assert row["recomputed"] is None and row["recomputed_display"] is None
    # Key absent, None, or NaN in the results.
    for results in ({}, {"pct_women": None}, {"pct_women": float("nan")}):
        row = _only(claims, "women_majority", results)
        assert row["status"] == "not computable" and row["recomputed"] is None
        assert "pct_women" in row["note"]


def test_numpy_values_become_plain_floats(claims):
    row = _only(claims, "pre_mean_published", {"pre_mean": np.float64(52.54)})
    assert type(row["recomputed"]) is float


def test_rival_versions_are_noted(claims):
    rows = _by_id(compare_claims(claims, {"pre_mean": 52.54, "d_av": 1.65}))
    assert "52.54" in rows["pre_mean_preprint"]["note"] and "at most one" in rows["pre_mean_preprint"]["note"]
    assert "52.39" in rows["pre_mean_published"]["note"]
    # "Large" and d = 1.60 are compatible: no rival note between them.
    assert "d_preprint" not in rows["effect_large_published"]["note"]
    assert "at least six" in rows["mean_infusions_published"]["note"]


def test_bundled_style_cohort_matches_published_means_and_preprint_sds(claims):
    # A cohort built like the bundled one: the published means (totals 6147 and 3367 of 117) with the
    # preprint SDs, 88 and 72 patients over the two cutoffs.
    results = {
        "n_patients": 117, "pre_mean": 6147 / 117, "post_mean": 3367 / 117, "pre_sd": 11.9012,
        "post_sd": 16.5189, "pct_clinically_significant": 100 * 88 / 117, "pct_remission": 100 * 72 / 117,
    }
    rows = _by_id(compare_claims(claims, results))
    for claim_id in ("n_patients", "pre_mean_published", "post_mean_published", "pre_sd_preprint",
                     "post_sd_preprint", "pct_clinically_significant_published", "pct_remission_published"):
        assert rows[claim_id]["status"] == "matches", claim_id
    assert rows["pre_mean_preprint"]["status"] == "differs"
    assert rows["post_mean_preprint"]["status"] == "differs"
    assert "synthetic cohort" in rows["pre_mean_preprint"]["note"]
    json.dumps(list(rows.values()), allow_nan=False)


# --------------------------------------------------------------------------- consistency of the published numbers
def test_published_numbers_pass_every_check(claims):
    rows = consistency_report(claims)
    found = {(row["check"], row["claim_id"]): row for row in rows}
    # GRIM by hand (n = 117): 52.54*117 = 6147.18 -> 6147/117 = 52.53846; 52.39*117 = 6129.63 -> 6130/117
    # = 52.39316; 28.78*117 = 3367.26 -> 3367/117 = 28.77778; 29.42*117 = 3442.14 -> 3442/117 = 29.41880.
    for claim_id, total in (("pre_mean_published", 6147), ("pre_mean_preprint", 6130),
                            ("post_mean_published", 3367), ("post_mean_preprint", 3442)):
        row = found[("GRIM", claim_id)]
        assert row["consistent"] is True and f"total {total}" in row["detail"]
    assert {key for key in found if key[0] == "GRIMMER"} == {("GRIMMER", "pre_sd_preprint"),
                                                            ("GRIMMER", "post_sd_preprint")}
    assert found[("GRIMMER", "pre_sd_preprint")]["consistent"] is True
    assert "52.39" in found[("GRIMMER", "pre_sd_preprint")]["detail"]
    # 75% of 117 -> 88 only; 62% -> 72 or 73 (61.54%, 62.39%).
    assert found[("percentage", "pct_clinically_significant_published")]["detail"].startswith("88 of 117")
    assert found[("percentage", "pct_remission_published")]["detail"].startswith("72 or 73 of 117")
    # d = 1.60 is the preprint's d_av: 22.97 / sqrt((11.90^2 + 16.52^2)/2) = 1.5955.
    d_row = found[("effect size definition", "d_preprint")]
    assert d_row["consistent"] is True and "1.5955" in d_row["detail"]
    for row in rows:
        assert row["explanation"]
    json.dumps(rows, allow_nan=False)


def test_consistency_report_flags_an_impossible_mean(claims):
    # Same file, but a sample of 28 and a mean of 5.19 (Brown & Heathers 2017): GRIM must fail.
    small = [dict(c, value=28) if c["id"] == "n_patients" else c for c in claims]
    small = [dict(c, value=5.19) if c["id"] == "pre_mean_published" else c for c in small]
    row = next(r for r in consistency_report(small) if r["claim_id"] == "pre_mean_published")
    assert row["consistent"] is False and "not reachable" in row["explanation"]


def test_d_check_not_runnable_without_sds(claims):
    no_sd = [c for c in claims if c["id"] != "pre_sd_preprint"]
    row = next(r for r in consistency_report(no_sd) if r["check"] == "effect size definition")
    assert row["consistent"] is None and "pre_sd" in row["detail"]


# --------------------------------------------------------------------------- conflicts
def test_conflicts_list_both_sides(claims):
    rows = _by_id(conflicts())
    assert set(rows) == {"pre_mean", "post_mean", "infusions", "design"}
    assert (rows["pre_mean"]["stated_a"], rows["pre_mean"]["stated_b"]) == ("52.54", "52.39")
    assert rows["infusions"]["stated_a"] == "nearly five"
    assert rows["infusions"]["stated_b"] == "at least six administrations"
    assert rows["design"]["stated_b"] == "open-label trial"
    for row in rows.values():
        assert row["version_a"] != row["version_b"] and row["source_a"] and row["source_b"]
        assert row["stated_a"] != row["stated_b"]
        assert "\n" not in row["issue"]


def test_every_numeric_disagreement_between_versions_is_listed(claims):
    listed = {frozenset((row["claim_a"], row["claim_b"])) for row in conflicts()}
    numbers = [c for c in claims if c["kind"] == "number"]
    for a in numbers:
        for b in numbers:
            if a["result_key"] == b["result_key"] and a["version"] < b["version"] and a["value"] != b["value"]:
                assert frozenset((a["id"], b["id"])) in listed, (a["id"], b["id"])


def test_conflicts_reject_unknown_ids(tmp_path):
    data = yaml.safe_load(CLAIMS_PATH.read_text(encoding="utf-8"))
    data["conflicts"] = [{"id": "x", "between": ["n_patients", "no_such_claim"], "issue": "?"}]
    path = tmp_path / "claims.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="no_such_claim"):
        conflicts(path)
