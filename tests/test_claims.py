"""Tests of the published-claims file and its comparison with recomputed results."""

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from ketamine_ptsd.analysis import consistency, summary_effects
from ketamine_ptsd.analysis.claims import (
    MEANS_AND_SDS,
    change_sd_bound,
    compare_claims,
    conflicts,
    consistency_report,
    d_av_check,
    explain_differences,
    recomputed_results,
    suppressed_paths,
)
from ketamine_ptsd.data.references import CLAIMS_PATH, KINDS, load_claims, load_conflicts
from ketamine_ptsd.presentation import claims_text
from ketamine_ptsd.presentation.claims_text import (
    check_rows,
    checks_table,
    claim_rows,
    comparison_table,
    conflicts_table,
    d_definitions_table,
    stated,
)


@pytest.fixture(scope="module")
def claims():
    return load_claims()


def _by_id(rows):
    return {row["id"]: row for row in rows}


def _shown(claims, results, min_cell=None):
    """The claims compared as results.json records them, with their notes and values as shown."""
    return claim_rows(compare_claims(claims, results), claims, min_cell)


def _checks(claims):
    """The consistency checks as results.json records them, with their details and explanations."""
    return check_rows(consistency_report(claims), claims)


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
        "moderator_p_age",
        "moderator_p_gender",
        "moderator_p_days_between",
        "moderator_p_n_psych_meds",
        "moderator_p_suicidal_ideation",
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
            {
                "id": "a",
                "version": "preprint",
                "source": "s",
                "source_detail": "d",
                "value": "x",
                "decimals": None,
                "kind": "guess",
                "result_key": None,
                "meaning": "m.",
            },
            {
                "id": "a",
                "version": "preprint",
                "source": "s",
                "source_detail": "d",
                "value": 3,
                "decimals": 0,
                "kind": "at_least",
                "result_key": "pre_mean",
                "meaning": "m.",
            },
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
    [row] = _shown([c for c in claims if c["id"] == claim_id], results)
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
    assert row["recomputed_display"] == "p < .001"
    row = _only(claims, "moderator_age_not_significant_preprint", {"moderator_p_age": 0.41234})
    assert row["recomputed_display"] == "p = .412"


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
    rows = _by_id(_shown(claims, {"pre_mean": 52.54, "d_av": 1.65}))
    assert "52.54" in rows["pre_mean_preprint"]["note"] and "at most one" in rows["pre_mean_preprint"]["note"]
    assert "52.39" in rows["pre_mean_published"]["note"]
    # "Large" and d = 1.60 are compatible: no rival note between them.
    assert "d_preprint" not in rows["effect_large_published"]["note"]
    assert "at least six" in rows["mean_infusions_published"]["note"]


def test_bundled_style_cohort_matches_published_means_and_preprint_sds(claims):
    # A cohort built like the bundled one: the published means (totals 6147 and 3367 of 117) with the
    # preprint SDs, 88 and 72 patients over the two cutoffs.
    results = {
        "n_patients": 117,
        "pre_mean": 6147 / 117,
        "post_mean": 3367 / 117,
        "pre_sd": 11.9012,
        "post_sd": 16.5189,
        "pct_clinically_significant": 100 * 88 / 117,
        "pct_remission": 100 * 72 / 117,
    }
    rows = _by_id(_shown(claims, results))
    for claim_id in (
        "n_patients",
        "pre_mean_published",
        "post_mean_published",
        "pre_sd_preprint",
        "post_sd_preprint",
        "pct_clinically_significant_published",
        "pct_remission_published",
    ):
        assert rows[claim_id]["status"] == "matches", claim_id
    assert rows["pre_mean_preprint"]["status"] == "differs"
    assert rows["post_mean_preprint"]["status"] == "differs"
    assert "synthetic cohort" in rows["pre_mean_preprint"]["note"]
    json.dumps(list(rows.values()), allow_nan=False)


# --------------------------------------------------------------------------- consistency of the published numbers
def test_published_numbers_pass_every_check(claims):
    rows = _checks(claims)
    found = {(row["check"], row["claim_id"]): row for row in rows}
    # GRIM by hand (n = 117): 52.54*117 = 6147.18 -> 6147/117 = 52.53846; 52.39*117 = 6129.63 -> 6130/117
    # = 52.39316; 28.78*117 = 3367.26 -> 3367/117 = 28.77778; 29.42*117 = 3442.14 -> 3442/117 = 29.41880.
    for claim_id, total in (
        ("pre_mean_published", 6147),
        ("pre_mean_preprint", 6130),
        ("post_mean_published", 3367),
        ("post_mean_preprint", 3442),
    ):
        row = found[("GRIM", claim_id)]
        assert row["consistent"] is True and f"total {total}" in row["detail"]
    assert {key for key in found if key[0] == "GRIMMER"} == {
        ("GRIMMER", "pre_sd_preprint"),
        ("GRIMMER", "post_sd_preprint"),
    }
    assert found[("GRIMMER", "pre_sd_preprint")]["consistent"] is True
    assert "52.39" in found[("GRIMMER", "pre_sd_preprint")]["detail"]
    # 75% of 117 -> 88 only; 62% -> 72 or 73 (61.54%, 62.39%).
    assert found[("percentage", "pct_clinically_significant_published")]["detail"].startswith("88 of 117")
    assert found[("percentage", "pct_remission_published")]["detail"].startswith("72 or 73 of 117")
    # d = 1.60 is the preprint's d_av: 22.97 / sqrt((11.90^2 + 16.52^2)/2) = 1.5955, shown one place beyond
    # the reported d's two.
    d_row = found[("effect size definition", "d_preprint")]
    assert d_row["consistent"] is True and "d_av = 1.596 " in d_row["detail"]
    for row in rows:
        assert row["explanation"]
    json.dumps(rows, allow_nan=False)


def test_consistency_report_flags_an_impossible_mean(claims):
    # Same file, but a sample of 28 and a mean of 5.19 (Brown & Heathers 2017): GRIM must fail.
    small = [dict(c, value=28) if c["id"] == "n_patients" else c for c in claims]
    small = [dict(c, value=5.19) if c["id"] == "pre_mean_published" else c for c in small]
    row = next(r for r in _checks(small) if r["claim_id"] == "pre_mean_published")
    assert row["consistent"] is False and "not reachable" in row["explanation"]


def test_d_check_not_runnable_without_sds(claims):
    no_sd = [c for c in claims if c["id"] != "pre_sd_preprint"]
    row = next(r for r in _checks(no_sd) if r["check"] == "effect size definition")
    assert row["consistent"] is None and "pre_sd" in row["detail"]


# --------------------------------------------------------------------------- conflicts
def test_conflicts_list_both_sides(claims):
    rows = _by_id(conflicts(load_claims(), load_conflicts()))
    by_id = _by_id(claims)

    def sides(row):
        return stated(by_id[row["claim_a"]]), stated(by_id[row["claim_b"]])

    assert set(rows) == {"pre_mean", "post_mean", "infusions", "design"}
    assert sides(rows["pre_mean"]) == ("52.54", "52.39")
    assert sides(rows["infusions"]) == ("nearly five", "at least six administrations")
    assert sides(rows["design"])[1] == "open-label trial"
    for row in rows.values():
        assert row["version_a"] != row["version_b"] and row["source_a"] and row["source_b"]
        assert sides(row)[0] != sides(row)[1]
        assert "\n" not in row["issue"]


def test_every_numeric_disagreement_between_versions_is_listed(claims):
    listed = {frozenset((row["claim_a"], row["claim_b"])) for row in conflicts(load_claims(), load_conflicts())}
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
        load_conflicts(path)


# --------------------------------------------------------------------------- tables for the report
def test_comparison_table_shows_each_claim_rounded(claims):
    table = comparison_table(_shown(claims, {"n_patients": 117, "pre_mean": 52.5385}))
    assert list(table.columns) == ["claim", "source", "published", "recomputed", "status", "why"]
    assert len(table) == len(claims)
    first = table.iloc[[c["id"] for c in claims].index("pre_mean_published")]
    assert (first["published"], first["recomputed"], first["status"]) == ("52.54", "52.54", "matches")


def test_checks_table_keeps_the_kinds_asked_for_with_the_stated_values(claims):
    checks = _checks(claims)
    table = checks_table(checks, claims, {"GRIM", "GRIMMER"})
    assert list(table.columns) == ["check", "claim", "published", "consistent", "what it means"]
    # Four means (GRIM) and the two preprint SDs (GRIMMER), in the report's order, named for readers.
    assert list(table["check"]) == [row["check"] for row in checks if row["check"] in ("GRIM", "GRIMMER")]
    assert len(table) == 6
    published = dict(zip(table["claim"], table["published"]))
    assert published["SD of PCL-5 before treatment (preprint)"] == "11.90"
    assert published["mean PCL-5 after treatment (published)"] == "28.78"
    assert set(table["consistent"]) == {"yes"}
    # False and None read as words, not as booleans.
    assert list(
        checks_table([dict(checks[0], consistent=False), dict(checks[0], consistent=None)], claims, {"GRIM"})[
            "consistent"
        ]
    ) == ["NO", "cannot check"]
    assert list(checks_table(checks, claims, {"no such check"}).columns) == list(table.columns)


def test_d_definitions_table_has_every_definition_with_its_range(claims):
    defs = summary_effects.d_definitions(52.39, 11.90, 29.42, 16.52, 117, decimals=2)
    found = consistency.closest_to(1.60, defs, 2)
    table = d_definitions_table(defs, found)
    assert len(table) == 4
    # d_av by hand: 22.97 / sqrt((11.90^2 + 16.52^2) / 2) = 1.5955, the preprint's 1.60.
    d_av = table.iloc[0]
    assert d_av["value"] == pytest.approx(22.97 / math.sqrt((11.90**2 + 16.52**2) / 2))
    assert d_av["lowest"] < d_av["value"] < d_av["highest"] and d_av["gives the reported d"] == "yes"
    assert d_av["definition"].startswith("d_av")
    # d_pre = 22.97 / 11.90 = 1.93: not the reported d.
    d_pre = table[table["definition"].str.startswith("d_pre")].iloc[0]
    assert d_pre["value"] == pytest.approx(22.97 / 11.90) and d_pre["gives the reported d"] == "no"


def test_conflicts_table_puts_both_sides_with_their_sources(claims):
    table = conflicts_table(conflicts(claims, load_conflicts()), claims)
    assert list(table.columns) == ["about", "one source says", "another says", "why it matters"]
    pre = table[table["about"] == "pre_mean"].iloc[0]
    # No parentheses around the source, whose own ("(press coverage)") would nest in them.
    assert pre["one source says"].startswith("52.54, published: MacConnel")
    assert pre["another says"].startswith("52.39, preprint: MacConnel")
    assert len(conflicts_table([], claims)) == 0


# --------------------------------------------------------------------------- d with the published means
def test_d_av_check_with_published_means_and_preprint_sds(claims):
    check = d_av_check(claims)
    # By hand: 23.76 / sqrt((11.90^2 + 16.52^2) / 2) = 1.6504; extremes over every input within 0.005.
    assert check["d_av"] == pytest.approx(23.76 / math.sqrt((11.90**2 + 16.52**2) / 2))
    corners = [
        (52.54 + a - 28.78 - c) / math.sqrt(((11.90 + b) ** 2 + (16.52 + e) ** 2) / 2)
        for a, b, c, e in itertools.product((-0.005, 0.005), repeat=4)
    ]
    assert check["low"] == pytest.approx(min(corners)) and check["high"] == pytest.approx(max(corners))
    # d = 1.60 allows at most 1.605, below the lowest d_av: ruled out.
    assert check["high"] > check["low"] > 1.605 and check["rules_out"] is True
    assert check["claim_id"] == "d_preprint"
    assert check["inputs"] == ("pre_mean_published", "pre_sd_preprint", "post_mean_published", "post_sd_preprint")


def test_d_av_check_does_not_rule_out_a_d_within_reach(claims):
    near = [dict(c, value=1.65) if c["id"] == "d_preprint" else c for c in claims]
    assert d_av_check(near)["rules_out"] is False


# --------------------------------------------------------------------------- why a claim differs
def _row(claim_id, status, published, rivals=()):
    return {"id": claim_id, "status": status, "published": published, "rivals": list(rivals), "recomputed_display": "?"}


HAND_CLAIMS = [
    {"id": i, "version": v}
    for i, v in (
        ("m_published", "published"),
        ("m_preprint", "preprint"),
        ("d", "preprint"),
        ("x", "preprint"),
        ("a", "published"),
        ("b", "preprint"),
    )
]
D_CHECK = {"claim_id": "d", "rules_out": True, "inputs": ("a", "b"), "low": 1.6491, "high": 1.6517}


def test_explain_differences_by_hand():
    rows = [
        _row("m_published", "matches", "52.54", ["m_preprint"]),
        _row("m_preprint", "differs", "52.39", ["m_published"]),
        _row("d", "differs", "1.60"),
        _row("x", "differs", "7"),
        _row("a", "matches", "1"),
        _row("b", "matches", "2"),
    ]
    out = explain_differences(rows, D_CHECK)
    assert [(row["id"], row["kind"]) for row in out] == [("m_preprint", "conflict"), ("d", "conflict"), ("x", "other")]
    assert [(row["because"], row["rival"]) for row in out] == [
        ("rival", "m_published"),
        ("d_check", None),
        (None, None),
    ]
    assert out[0]["published"] == "52.39"  # the comparison row, with the reason added
    why = [claims_text.why(row, rows, HAND_CLAIMS, D_CHECK) for row in out]
    assert "the published version states 52.54" in why[0] and "`m_published`" in why[0]
    assert "between 1.649 and 1.652" in why[1] and "d = 1.60" in why[1]
    assert why[2] == "the recomputed value is not the published one; see the table."


def test_a_d_difference_is_no_conflict_unless_every_input_matches_and_d_is_ruled_out():
    base = [_row("d", "differs", "1.60"), _row("a", "matches", "1"), _row("b", "differs", "2")]
    assert explain_differences(base, D_CHECK)[0]["kind"] == "other"  # b does not match
    matched = [base[0], base[1], _row("b", "matches", "2")]
    assert explain_differences(matched, dict(D_CHECK, rules_out=False))[0]["kind"] == "other"
    assert explain_differences(matched)[0]["kind"] == "other"  # no check given
    # A rival that differs too is no explanation.
    rows = [_row("m_published", "differs", "52.54", ["m_preprint"]), _row("m_preprint", "differs", "52.39")]
    assert {row["kind"] for row in explain_differences(rows)} == {"other"}


# --------------------------------------------------------------------------- the cap on r from the 75%
def test_change_sd_bound_by_hand(claims):
    bound = change_sd_bound(claims, 10)
    # 75% of 117 is 88 patients only, so 29 improved by at most 9 points. Totals 6147 and 3367 (GRIM).
    assert (
        bound["n"] == 117
        and claims_text.bound_percent(bound, claims) == "75%"
        and bound["n_not_clinically_significant"] == 29
    )
    assert bound["mean_change"] == pytest.approx((6147 - 3367) / 117)
    # The smallest SD: 29 changes of 9 and 88 sharing the rest equally, by numpy.
    split = np.r_[np.full(29, 9.0), np.full(88, (2780 - 29 * 9) / 88)]
    floor = np.std(split, ddof=1)
    assert bound["change_sd_floor"] == pytest.approx(floor)
    assert bound["r_max"] == pytest.approx((11.90**2 + 16.52**2 - floor**2) / (2 * 11.90 * 16.52))
    assert bound["d_z_max"] == pytest.approx(split.mean() / floor)
    assert bound["t_max"] == pytest.approx(split.mean() / (floor / math.sqrt(117)))


def test_change_sd_bound_without_a_floor(claims):
    # A threshold above the mean change of 23.76 points: the count caps nothing.
    bound = change_sd_bound(claims, 30)
    assert bound["change_sd_floor"] == 0
    assert bound["r_max"] is None and bound["d_z_max"] is None and bound["t_max"] is None
    # mcid 9.5: whole-number changes below it are at most 9, as with 10.
    floor_10 = change_sd_bound(claims, 10)["change_sd_floor"]
    assert change_sd_bound(claims, 9.5)["change_sd_floor"] == pytest.approx(floor_10)


# --------------------------------------------------------------------------- the small-cell rule
def _small_group_cohort():
    """40 patients, 36 completers; 3 completers with psychotherapy, 4 with suicidal ideation, 3 in remission."""
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 40
    pre = rng.integers(45, 80, n)
    post = np.maximum(pre - rng.integers(0, 25, n), 35).astype(object)
    post[:3] = [20, 25, 30]
    post[[5, 15, 25, 33]] = None
    return pd.DataFrame(
        {
            "pcl5_pre": pd.array(pre, dtype="Int64"),
            "pcl5_post": pd.array(list(post), dtype="Int64"),
            "days_between": pd.array(rng.integers(20, 90, n), dtype="Int64"),
            "age": pd.array(rng.integers(20, 70, n), dtype="Int64"),
            "gender": pd.array(["woman"] * 30 + ["man"] * 7 + ["nonbinary"] * 3, dtype="string"),
            "race_ethnicity": pd.array(["A"] * n, dtype="string"),
            "n_infusions": pd.array(rng.integers(3, 9, n), dtype="Int64"),
            "n_psych_meds": pd.array(rng.integers(0, 4, n), dtype="Int64"),
            "suicidal_ideation": pd.array([True] * 4 + [False] * 36, dtype="boolean"),
            "psychotherapy": pd.array([False] * 10 + [True] * 3 + [False] * 27, dtype="boolean"),
        }
    )


#: The build's default definitions, written out: recomputed_results takes every parameter explicitly.
_PARAMS = {"mcid": 10, "reliability": 0.82, "response_fraction": 0.3, "remission_cutoff": 33, "ci_level": 0.95}


def test_recomputed_results_are_the_results_chapters_values():
    from ketamine_ptsd.analysis import describe, stats

    cohort = _small_group_cohort()
    results = recomputed_results(cohort, **_PARAMS, min_cell=5)
    # Each value as the function its chapter publishes it through gives it.
    rates = stats.suppressed_rates(cohort, 10, 0.82, 0.3, 33, min_cell=5)
    contrast = stats.suppressed_contrast(cohort, 0.95, min_cell=5)
    outcome = stats.suppressed_outcome(cohort, 0.95, min_cell=5)
    moderators = stats.moderator_table(cohort, min_cell=5).set_index("moderator")
    summary = describe.cohort_summary(cohort, 5)
    for values in (rates, contrast, outcome, summary):
        for key, value in values.items():
            if key != "suppressed":
                assert results[key] == value, key
    for moderator, row in moderators.iterrows():
        assert results[f"moderator_p_{moderator}"] == (None if pd_isna(row["p"]) else row["p"]), moderator
    # Gender: the three nonbinary patients are too few even pooled, so the p is that of the moderators chapter.
    assert results["moderator_p_gender"] == moderators.loc["gender", "p"]
    assert (
        results["moderator_p_gender"]
        != stats.moderator_table(cohort, min_cell=0).set_index("moderator").loc["gender", "p"]
    )
    hidden = set(results["suppressed"])
    assert {
        "pct_remission",
        "n_remission",
        "psychotherapy_d",
        "psychotherapy_p",
        "moderator_p_psychotherapy",
        "moderator_p_suicidal_ideation",
        "moderator_p_holm_suicidal_ideation",
    } <= hidden
    assert all(results[key] is None for key in hidden)
    assert results["pct_clinically_significant"] is not None and "pre_mean" not in hidden
    off = recomputed_results(cohort, **_PARAMS, min_cell=0)
    assert off["suppressed"] == [] and off["psychotherapy_d"] == stats.psychotherapy_contrast(cohort)["psychotherapy_d"]


def pd_isna(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_a_suppressed_claim_is_not_computable_and_hides_its_value(claims):
    results = {
        "pct_remission": None,
        "psychotherapy_d": None,
        "pct_women": 60.0,
        "suppressed": ["pct_remission", "psychotherapy_d"],
    }
    rows = _by_id(_shown(claims, results, min_cell=5))
    row = rows["pct_remission_published"]
    assert row["status"] == "not computable" and row["recomputed"] is None
    assert row["recomputed_display"] == "suppressed"
    assert row["note"].startswith("Not computable: suppressed (fewer than 5 patients).")
    assert rows["psychotherapy_greater_reduction_published"]["status"] == "not computable"
    assert rows["women_majority"]["status"] == "matches"
    # A value the data cannot give reads as such, not as suppressed.
    assert "suppressed" not in rows["pre_mean_published"]["note"]
    # Even if a value were left in, a suppressed name is never compared or shown.
    leaked = _by_id(_shown(claims, dict(results, pct_remission=61.5)))["pct_remission_published"]
    assert leaked["recomputed"] is None and "61" not in leaked["note"] and leaked["status"] == "not computable"
    # The paths results.json lists: one per claim on a suppressed key, by its row.
    paths = suppressed_paths(claims, results)
    ids = [claim["id"] for claim in claims]
    expected = [
        f"claims[{ids.index(i)}].recomputed"
        for i in ids
        if i in ("pct_remission_published", "psychotherapy_d_preprint", "psychotherapy_greater_reduction_published")
    ]
    assert paths == expected
    assert suppressed_paths(claims, {"pct_remission": 61.5}) == []


def test_r_range_table_rules_out_the_correlations_above_the_floor(claims):
    bound = change_sd_bound(claims, 10)
    rows = summary_effects.r_range_for(*(next(c["value"] for c in claims if c["id"] == i) for i in MEANS_AND_SDS), 117)
    table = claims_text.r_range_table(rows, bound, claims)
    allowed = table["allowed by the 75%"]
    assert (allowed == "no").tolist() == (table["r"] > bound["r_max"]).tolist() and (allowed == "no").any()
    # No floor (a threshold the mean change does not exceed): every correlation allowed, and the text says so.
    free = claims_text.r_range_table(rows, {**bound, "r_max": None}, claims)
    assert (free["allowed by the 75%"] == "yes").all()
    assert "rules out no correlation" in claims_text.change_sd_floor({"change_sd_floor": 0.0}, 30, claims).data
    assert "SD of the change cannot be smaller than 8.51" in claims_text.change_sd_floor(bound, 10, claims).data


@pytest.mark.parametrize(
    ("lows", "highs", "verdict"),
    [
        ([0.02, 0.10], [0.80, 0.90], "lies above zero (excludes no difference) in every reconstructed cohort"),
        ([-0.90, -0.80], [-0.10, -0.02], "lies below zero (excludes no difference) in every reconstructed cohort"),
        # Every lower end below zero and every upper end above it: zero is inside every interval.
        ([-0.30, -0.01], [0.40, 0.90], "includes zero (no difference) in every reconstructed cohort"),
        ([-0.05, 0.03], [0.80, 0.90], "includes zero (no difference) in some reconstructed cohorts and not in others"),
    ],
)
def test_psychotherapy_spread_says_what_the_intervals_show(lows, highs, verdict):
    from ketamine_ptsd.presentation.claims_text import psychotherapy_spread

    spread = pd.DataFrame(
        {"psychotherapy_d_ci_low": lows, "psychotherapy_d_ci_high": highs, "psychotherapy_p": [0.01, 0.2]}
    )
    text = psychotherapy_spread(spread, 0.95, 0.05).data
    assert f"The interval {verdict}," in text
    assert f"its lower end runs from {min(lows):.2f} to {max(lows):.2f}" in text
    assert "p below 0.05 in 50% of the cohorts" in text


# --------------------------------------------------------------------------- by construction and adjustment
def test_the_generators_targets_are_claims_and_only_the_bundled_cohort_has_them(claims):
    from ketamine_ptsd.analysis.claims import generated_to_match
    from ketamine_ptsd.analysis.reconstruction import TARGETED_CLAIMS

    assert set(TARGETED_CLAIMS) <= {claim["id"] for claim in claims}
    assert generated_to_match("synthetic") == frozenset(TARGETED_CLAIMS)
    assert generated_to_match("user") == frozenset()


def test_on_the_bundled_cohort_every_match_is_by_construction(claims):
    from ketamine_ptsd import paths
    from ketamine_ptsd.analysis.claims import claim_counts, generated_to_match
    from ketamine_ptsd.data.validate import validate_file

    cohort = validate_file(paths.BUNDLED_COHORT).cohort
    results = recomputed_results(cohort, **_PARAMS, min_cell=5)
    rows = compare_claims(claims, results, generated_to_match("synthetic"))
    matching = [row for row in rows if row["status"] == "matches"]
    # The reading: every match on the generated cohort is one of the generator's targets.
    assert matching and all(row["by_construction"] for row in matching)
    assert not any(row["by_construction"] for row in rows if row["status"] != "matches")
    counts = claim_counts(rows)
    assert counts["n_claims_by_construction"] == counts["n_claims_matching"] == len(matching)
    assert counts["n_claims_supported"] == 0
    # The same data called a user's file: nothing is by construction, and the matches could be evidence.
    user = claim_counts(compare_claims(claims, results, generated_to_match("user")))
    assert user["n_claims_by_construction"] == 0 and user["n_claims_matching"] == counts["n_claims_matching"]


def test_a_significance_claim_is_checked_after_holm_adjustment(claims):
    from ketamine_ptsd.analysis.claims import claim_counts

    # p = .034 unadjusted, .206 after Holm over the moderators: the claim "p < .05" holds only unadjusted.
    results = {"moderator_p_psychotherapy": 0.034, "moderator_p_holm_psychotherapy": 0.206}
    row = _only(claims, "psychotherapy_moderator_significant_preprint", results)
    assert row["status"] == "matches" and row["p_adjusted"] == 0.206 and row["holds_after_adjustment"] is False
    assert claims_text.shown_status(row) == "matches only unadjusted"
    assert claims_text.shown_value(row) == (
        "✓ p = .034 unadjusted; ✗ p = .206 after Holm adjustment over the moderators tested"
    )
    counts = claim_counts([row])
    assert counts["n_claims_matching"] == 1 and counts["n_claims_matching_only_unadjusted"] == 1
    assert counts["n_claims_supported"] == 0
    # Exactly at alpha after adjustment the claim "p < .05" fails; just below, it holds.
    at = _only(
        claims, "psychotherapy_moderator_significant_preprint", {**results, "moderator_p_holm_psychotherapy": 0.05}
    )
    assert at["holds_after_adjustment"] is False
    below = {**results, "moderator_p_holm_psychotherapy": 0.0499}
    assert _only(claims, "psychotherapy_moderator_significant_preprint", below)["holds_after_adjustment"] is True
    # A claim about a value that is not a moderator's p has no adjusted p.
    other = _only(claims, "pre_mean_published", {"pre_mean": 52.54})
    assert other["p_adjusted"] is None and other["holds_after_adjustment"] is None


def test_the_title_claim_is_the_durability_verdict(claims):
    assert _only(claims, "rapid_and_sustained_title", {"durability_verdict": "sustained"})["status"] == "matches"
    for verdict in ("worsening", "not enough data to tell"):
        assert _only(claims, "rapid_and_sustained_title", {"durability_verdict": verdict})["status"] == "differs"
    assert _only(claims, "rapid_and_sustained_title", {"durability_verdict": None})["status"] == "not computable"


def _claim(kind, **kw):
    return {"id": f"c_{kind}", "kind": kind, **kw}


@pytest.mark.parametrize(
    ("claim", "below", "at", "above"),
    [
        (_claim("at_least", low=10), False, True, True),
        (_claim("more_than", low=10), False, False, True),
        (_claim("at_most", high=10), True, True, False),
        (_claim("less_than", high=10), True, False, False),
        (_claim("range", low=10, high=20), False, True, True),
    ],
)
def test_claim_conditions_at_their_bounds(claim, below, at, above):
    from ketamine_ptsd.analysis.claims import _holds

    bound = claim.get("low", claim.get("high"))
    assert [_holds(v, claim) for v in (bound - 0.001, bound, bound + 0.001)] == [below, at, above]
    if claim["kind"] == "range":  # its upper end is excluded
        assert [_holds(v, claim) for v in (19.999, 20)] == [True, False]
    with pytest.raises(ValueError, match=r"^c_x: kind 'x' has no condition$"):
        _holds(1.0, _claim("x"))


@pytest.mark.parametrize(
    ("a", "b", "incompatible"),
    [
        # 52.54 at 2 decimals admits [52.535, 52.545]; 52.5 at 1 decimal admits [52.45, 52.55]: they overlap
        (_claim("number", value=52.54, decimals=2), _claim("number", value=52.5, decimals=1), False),
        (_claim("number", value=52.54, decimals=2), _claim("number", value=52.6, decimals=1), True),
        # touching ends: both included, one excluded
        (_claim("at_most", high=10), _claim("at_least", low=10), False),
        (_claim("at_least", low=10), _claim("at_most", high=10), False),
        (_claim("less_than", high=10), _claim("at_least", low=10), True),
        (_claim("at_least", low=10), _claim("less_than", high=10), True),
        (_claim("at_most", high=10), _claim("more_than", low=10), True),
        (_claim("more_than", low=10), _claim("at_most", high=10), True),
        (_claim("range", low=10, high=20), _claim("at_least", low=20), True),
        (_claim("range", low=10, high=20), _claim("at_most", high=10), False),
        (_claim("less_than", high=5), _claim("range", low=5, high=9), True),
        (_claim("percent", value=62, decimals=0), _claim("at_most", high=61.5), False),
        (_claim("percent", value=62, decimals=0), _claim("more_than", low=62.5), True),
        # a number's rounding interval keeps both ends: 10 admits 10.5, and 1.5 at 1 decimal admits 1.55
        (_claim("number", value=10, decimals=0), _claim("at_least", low=10.5), False),
        (_claim("number", value=1.5, decimals=1), _claim("at_least", low=1.55), False),
        (_claim("less_than", high=10), _claim("at_most", high=5), False),
    ],
)
def test_claims_that_cannot_hold_together(a, b, incompatible):
    from ketamine_ptsd.analysis.claims import _incompatible

    assert _incompatible(a, b) is incompatible


def test_adjusted_key_names_the_holm_p_of_a_moderator_only():
    from ketamine_ptsd.analysis.claims import adjusted_key

    assert adjusted_key("moderator_p_age") == "moderator_p_holm_age"
    assert adjusted_key("moderator_p_holm_age") is None
    assert adjusted_key("p") is None and adjusted_key(None) is None


def test_claim_counts_by_hand():
    from ketamine_ptsd.analysis.claims import claim_counts

    rows = [
        {"status": "matches", "by_construction": True, "holds_after_adjustment": None},
        {"status": "matches", "by_construction": False, "holds_after_adjustment": False},
        {"status": "matches", "by_construction": False, "holds_after_adjustment": True},
        {"status": "differs", "by_construction": False, "holds_after_adjustment": None},
        {"status": "not computable", "by_construction": False, "holds_after_adjustment": None},
        {"status": "not computable", "by_construction": False, "holds_after_adjustment": None},
    ]
    assert claim_counts(rows) == {
        "n_claims": 6,
        "n_claims_matching": 3,
        "n_claims_differing": 1,
        "n_claims_not_computable": 2,
        "n_claims_by_construction": 1,
        "n_claims_matching_only_unadjusted": 1,
        "n_claims_supported": 1,
    }


def test_the_sample_size_is_the_number_claim_of_n_patients():
    from ketamine_ptsd.analysis.claims import _sample_size

    claims = [
        {"result_key": "pre_mean", "kind": "number", "value": 52.5},
        {"result_key": "n_patients", "kind": "percent", "value": 50},
        {"result_key": "n_patients", "kind": "number", "value": 117},
    ]
    assert _sample_size(claims) == 117
    with pytest.raises(ValueError, match=r"^no claim gives the number of patients \(result_key n_patients\)$"):
        _sample_size(claims[:2])
