"""Recomputed results with every argument away from its default and with later assessments (the fast tier's
other claims tests pass neither), the messages of the change-SD bound's refusals, the checks at a claim's own
precision (GRIMMER against an enumeration of every sample), and the adjusted p of a claim that is not computable."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.analysis import adverse_events, claims, describe, durability, stats
from ketamine_ptsd.data.long import ASSESSMENT_COLUMNS

from .test_claims import _small_group_cohort


def _with_followups():
    cohort = _small_group_cohort()
    cohort.insert(0, "patient_id", [f"p{i}" for i in range(len(cohort))])
    cohort["ae_nausea"] = pd.array([True] * 6 + [False] * 34, dtype="boolean")
    # Three patients not women: their share is shown at min_cell 2, hidden at the default 5.
    cohort["gender"] = pd.array(["woman"] * 37 + ["man"] * 3, dtype="string")
    done = cohort[cohort["pcl5_post"].notna()]
    rows = [(p, "post", 30, int(post)) for p, post in zip(done["patient_id"], done["pcl5_post"], strict=True)]
    # Twelve completers followed twice, drifting up by 0 to 4 points a month.
    for i, (p, post) in enumerate(zip(done["patient_id"][:12], done["pcl5_post"][:12], strict=True)):
        rows += [(p, "followup", 90, int(post) + i % 5), (p, "followup", 200, int(post) + 4 * (i % 5))]
    later = pd.DataFrame(rows, columns=["patient_id", "assessment", "days", "pcl5"])
    later["days_after_post"] = later["days"] - 30
    return cohort, later[list(ASSESSMENT_COLUMNS)]


def test_recomputed_results_pass_every_argument_on_and_add_the_durability_values():
    cohort, later = _with_followups()
    params = dict(mcid=12, reliability=0.9, response_fraction=0.4, remission_cutoff=31, ci_level=0.9)
    got = claims.recomputed_results(
        cohort, **params, min_cell=2, assessments=later, durability_margin=2.0, durability_random_slope_min_patients=13
    )
    moderators = stats.moderator_table(cohort, ci_level=0.9, min_cell=2)
    parts = [
        describe.cohort_summary(cohort, 2),
        stats.suppressed_outcome(cohort, 0.9, 2),
        stats.suppressed_rates(cohort, 12, 0.9, 0.4, 31, 2),
        stats.suppressed_contrast(cohort, 0.9, 2),
        adverse_events.adverse_event_rates(cohort, 0.9, 2),
        # margin 2 a month, not mcid / 12 = 1; a random slope from 13 patients followed: 12 are, so none.
        durability.durability_values(cohort, later, 0.4, 0.9, 2, 2.0, 13),
    ]
    expected_hidden = []
    for part in parts:
        for key, value in part.items():
            if key != "suppressed":
                assert got[key] == value or (value is None and got[key] is None), key
        expected_hidden += part["suppressed"]
    for row in moderators.itertuples():
        assert got[f"moderator_p_{row.moderator}"] == (None if pd.isna(row.p) else row.p)
    assert got["pct_women"] == 92.5 and got["durability_slope_random_slope"] is False
    # The slope's 90% interval, about 0.90 to 1.62 points a month, is below a margin of 2 but not of 1.
    assert got["durability_verdict"] == "sustained"
    by_mcid = claims.recomputed_results(cohort, **params, min_cell=2, assessments=later)
    assert by_mcid["durability_verdict"] == "worsening"  # the default margin, mcid / 12 = 1
    params["mcid"] = 24
    assert (
        claims.recomputed_results(cohort, **params, min_cell=2, assessments=later)["durability_verdict"] == "sustained"
    )
    assert sorted(got["suppressed"]) == sorted(expected_hidden)


def _claims(**changes):
    """The bundled claims with some claims' fields changed: ``id={"value": ..., "decimals": ...}``."""
    from ketamine_ptsd.data.references import load_claims

    return [{**claim, **changes.get(claim["id"], {})} for claim in load_claims()]


def test_the_change_sd_bound_reads_the_percentages_decimals_and_says_why_it_cannot_run():
    # 88 of 117 is 75.21%: 75.2 at its one decimal (at none, 75.2 is no whole percentage).
    bound = claims.change_sd_bound(_claims(pct_clinically_significant_published={"value": 75.2, "decimals": 1}), 10)
    assert bound["n_not_clinically_significant"] == 117 - 88
    no_count = _claims(pct_clinically_significant_published={"value": 75.5, "decimals": 1})
    with pytest.raises(ValueError, match=r"^pct_clinically_significant_published: no count of 117 gives 75.5%$"):
        claims.change_sd_bound(no_count, 10)
    # A mean of 52.545 (three decimals) is no whole-number total over 117 patients.
    no_total = _claims(pre_mean_published={"value": 52.545, "decimals": 3})
    with pytest.raises(
        ValueError, match=r"^the means pre_mean_published and post_mean_published need one whole-number"
    ):
        claims.change_sd_bound(no_total, 10)


def test_checks_that_cannot_run_say_so_with_every_key():
    # Without the preprint's pre mean, neither its pre SD's GRIMMER nor its d definition can be checked.
    without = [c for c in _claims() if c["id"] != "pre_mean_preprint"]
    rows = {(r["check"], r["claim_id"]): r for r in claims.consistency_report(without)}
    assert rows[("GRIMMER", "pre_sd_preprint")] == {
        "check": "GRIMMER",
        "claim_id": "pre_sd_preprint",
        "consistent": None,
        "n": 117,
        "mean_id": None,
    }
    assert rows[("effect size definition", "d_preprint")] == {
        "check": "effect size definition",
        "claim_id": "d_preprint",
        "consistent": None,
        "n": 117,
        "missing": ["pre_mean"],
    }
    # Only the one d claim given as a number is checked for its definition.
    assert [r["claim_id"] for r in claims.consistency_report(_claims()) if r["check"] == "effect size definition"] == [
        "d_preprint"
    ]


def test_a_percentage_is_checked_at_its_own_decimals():
    rows = claims.consistency_report(_claims(pct_clinically_significant_published={"value": 75.2, "decimals": 1}))
    row = next(r for r in rows if r["claim_id"] == "pct_clinically_significant_published")
    assert row["consistent"] is True and row["counts"] == [88]  # 88 / 117 = 75.21%


@pytest.mark.parametrize(("below_low", "rules_out"), [(0.0045, False), (0.0055, True), (0.01, True)])
def test_a_claimed_d_is_ruled_out_only_beyond_half_its_last_decimal(below_low, rules_out):
    # d_av over the inputs' rounding runs from `low` up; a claimed d at 2 decimals stands for +- 0.005.
    low = claims.d_av_check(_claims())["low"]
    check = claims.d_av_check(_claims(d_preprint={"value": low - below_low, "decimals": 2}))
    assert check["rules_out"] is rules_out


def test_a_conflicts_issue_is_one_line():
    from ketamine_ptsd.data.references import load_claims

    entry = {"id": "x", "issue": "the  means\n   differ", "between": ["pre_mean_published", "pre_mean_preprint"]}
    (row,) = claims.conflicts(load_claims(), [entry])
    assert row["issue"] == "the means differ" and row["claim_b"] == "pre_mean_preprint"


def test_the_cohort_summary_takes_the_cell_size_passed_on():
    # Two women of 40: a share of 5% that min_cell 2 shows and the default, 5, would hide.
    cohort = _small_group_cohort()
    cohort["gender"] = pd.array(["woman"] * 2 + ["man"] * 38, dtype="string")
    params = dict(mcid=10, reliability=0.82, response_fraction=0.3, remission_cutoff=33, ci_level=0.95)
    assert claims.recomputed_results(cohort, **params, min_cell=2)["pct_women"] == 100 * 2 / 40
    hidden = claims.recomputed_results(cohort, **params, min_cell=5)
    assert hidden["pct_women"] is None and "pct_women" in hidden["suppressed"]


def _number(claim_id, key, value, decimals):
    """A claim of a number, with the fields the checks read."""
    return {"id": claim_id, "version": "v", "kind": "number", "result_key": key, "value": value, "decimals": decimals}


def _reachable(n, mean, mean_decimals, sd, sd_decimals):
    """Whether some n scores of 0 to 80 have a mean and a sample SD that round to these (either tie rule)."""
    scores = np.indices((81,) * n).reshape(n, -1).T.astype(float)
    m, s = scores.mean(axis=1), scores.std(axis=1, ddof=1)
    near_mean = np.abs(m - mean) <= 0.5 * 10**-mean_decimals + 1e-12
    return bool((near_mean & (np.abs(s - sd) <= 0.5 * 10**-sd_decimals + 1e-12)).any())


def test_grimmer_reads_the_sd_at_its_own_precision():
    # Three scores with a mean of 0.33 total 1: (0, 0, 1), SD sqrt(1/3) = 0.577. That is 0.6 at one decimal,
    # not 0.60 at the mean's two.
    assert _reachable(3, 0.33, 2, 0.6, 1) and not _reachable(3, 0.33, 2, 0.60, 2)
    for sd_decimals, expected in ((1, True), (2, False)):
        rows = claims.consistency_report(
            [
                _number("n", "n_patients", 3, 0),
                _number("m", "pre_mean", 0.33, 2),
                _number("s", "pre_sd", 0.6, sd_decimals),
            ]
        )
        [row] = [r for r in rows if r["check"] == "GRIMMER"]
        assert row["consistent"] is expected and row["mean_id"] == "m"


def test_the_d_check_reads_the_claimed_d_at_its_own_precision():
    # d_av = 22.97 / sqrt((12^2 + 17^2) / 2) = 1.5611, and over the inputs' rounding (+- 0.005) it stays within
    # 1.5599 to 1.5623: a d of 1.6 at one decimal (1.55 to 1.65), not 1.60 at two (1.595 to 1.605).
    d_av = (52.39 - 29.42) / math.sqrt((12.00**2 + 17.00**2) / 2)
    inputs = [("pre_mean", 52.39), ("pre_sd", 12.00), ("post_mean", 29.42), ("post_sd", 17.00)]
    given = [_number("n", "n_patients", 117, 0)] + [_number(key, key, value, 2) for key, value in inputs]
    for decimals, consistent in ((1, True), (2, False)):
        rows = claims.consistency_report([*given, _number("d", "d_av", 1.6, decimals)])
        [row] = [r for r in rows if r["check"] == "effect size definition"]
        assert row["consistent"] is consistent and row["definitions"]["d_av"] == pytest.approx(d_av)


def test_a_claim_that_is_not_computable_shows_no_adjusted_p():
    # The p hidden by the small-cell rule, or missing: its Holm p, even if present, is not shown either.
    [claim] = [c for c in _claims() if c["id"] == "moderator_age_not_significant_preprint"]
    hidden = {"moderator_p_age": 0.2, "moderator_p_holm_age": 0.6, "suppressed": ["moderator_p_age"]}
    for results in (hidden, {"moderator_p_age": None, "moderator_p_holm_age": 0.6}):
        [row] = claims.compare_claims([claim], results)
        assert row["status"] == "not computable" and row["recomputed"] is None
        assert row["p_adjusted"] is None and row["holds_after_adjustment"] is None
