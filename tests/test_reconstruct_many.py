"""Many reconstructed cohorts, the claims comparison on the bundled cohort, and the SD-of-change floor.

Every constraint is checked here from the scores themselves, with numpy and scipy and the published
values typed from REFERENCE_FACTS.md, not through the module's own targets or checks.
"""

import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ketamine_ptsd import paths
from ketamine_ptsd.analysis import claims, describe, reconstruction, stats, summary_effects
from ketamine_ptsd.data import references
from ketamine_ptsd.data.validate import validate_file

N_COHORTS = 20
SEED = 4242


@pytest.fixture(scope="module")
def rec():
    return reconstruction.reconstruct_many(N_COHORTS, SEED)


def _psychotherapy_d(change, therapy):
    """Cohen's d_s from scipy's Student t: t = d / sqrt(1/n1 + 1/n0)."""
    a, b = change[therapy], change[~therapy]
    t = sps.ttest_ind(a, b, equal_var=True).statistic
    return t * np.sqrt(1 / len(a) + 1 / len(b))


# --------------------------------------------------------------------------- the constraints
def test_every_cohort_meets_every_published_constraint(rec):
    assert rec.pcl5_pre.shape == rec.pcl5_post.shape == rec.psychotherapy.shape == (N_COHORTS, 117)
    assert rec.pcl5_pre.dtype.kind == rec.pcl5_post.dtype.kind == "i"
    for pre, post, therapy in zip(rec.pcl5_pre, rec.pcl5_post, rec.psychotherapy):
        # Published means, preprint SDs (MacConnel et al. 2024; OSF preprint abstract).
        assert f"{pre.mean():.2f}" == "52.54" and f"{post.mean():.2f}" == "28.78"
        assert f"{np.std(pre, ddof=1):.2f}" == "11.90" and f"{np.std(post, ddof=1):.2f}" == "16.52"
        # 75% with a drop of at least 10 points, 62% below 33 after treatment.
        assert round(100 * np.mean(pre - post >= 10)) == 75
        assert round(100 * np.mean(post < 33)) == 62
        assert pre.min() >= 33 and pre.max() <= 80 and post.min() >= 0 and post.max() <= 80
        assert f"{_psychotherapy_d((pre - post).astype(float), therapy):.2f}" == "0.42"


def test_meets_constraints_accepts_every_reconstructed_cohort(rec):
    published = references.load_claims()
    for pre, post, therapy in zip(rec.pcl5_pre, rec.pcl5_post, rec.psychotherapy):
        assert reconstruction.meets_constraints(pre, post, therapy, reconstruction.Targets(), published)


# A hand-built cohort of 12 with its own targets at one decimal. By hand: pre total 690 (mean 57.5), post
# total 408 (mean 34.0); changes 13 32 17 20 8 28 37 24 -8 -10 75 46, so 9 of 12 (75%) improve by at
# least 10 and 7 of 12 (58%) end below 33; SDs 14.39 and 24.39 and the psychotherapy d 0.789 come from
# numpy and scipy in _broken below. Every aggregate sits at least 0.035 inside its rounding window.
HAND_PRE = np.array([33, 41, 45, 49, 53, 58, 56, 59, 71, 70, 75, 80])
HAND_POST = np.array([20, 9, 28, 29, 45, 30, 19, 35, 79, 80, 0, 34])
HAND_THERAPY = np.isin(np.arange(12), [0, 1, 2, 3, 6, 10])
HAND_TARGETS = reconstruction.Targets(
    n=12,
    pre_mean=57.5,
    post_mean=34.0,
    pre_sd=14.4,
    post_sd=24.4,
    decimals=1,
    pre_min=33,
    score_max=80,
    mcid=10,
    remission_cutoff=33,
    psychotherapy_d=0.8,
)
HAND_CLAIMS = [
    {"id": "pct_clinically_significant_published", "value": 75, "decimals": 0},
    {"id": "pct_remission_published", "value": 58, "decimals": 0},
]
# Each edit breaks exactly one constraint (checked in the test): scores moved by a point or a few.
BREAK_ONE = {
    "pre mean": {"pre": {3: -1}},
    "post mean": {"post": {0: -1}},
    "pre SD": {"pre": {0: +1, 1: -1}},
    "post SD": {"post": {0: +2, 1: -2}},
    "clinically significant %": {"pre": {4: +2, 6: -2}},
    "remission %": {"post": {5: +3, 2: -3}},
    "pre below pre_min": {"pre": {1: +1, 0: -1}},
    "pre above score_max": {"pre": {11: +1, 10: -1}},
    "post below 0": {"post": {1: +1, 10: -1}},
    "post above score_max": {"post": {8: +2, 9: -2}},
    "psychotherapy d": {"therapy": {0: False, 4: True}},
}


def _broken(pre, post, therapy):
    """Constraints of HAND_TARGETS the cohort misses, from numpy and scipy and the targets typed out."""
    change = (pre - post).astype(float)
    checks = {
        "pre mean": f"{pre.mean():.1f}" == "57.5",
        "post mean": f"{post.mean():.1f}" == "34.0",
        "pre SD": f"{np.std(pre, ddof=1):.1f}" == "14.4",
        "post SD": f"{np.std(post, ddof=1):.1f}" == "24.4",
        "clinically significant %": round(100 * np.mean(change >= 10)) == 75,
        "remission %": round(100 * np.mean(post < 33)) == 58,
        "pre below pre_min": pre.min() >= 33,
        "pre above score_max": pre.max() <= 80,
        "post below 0": post.min() >= 0,
        "post above score_max": post.max() <= 80,
        "psychotherapy d": f"{_psychotherapy_d(change, therapy):.1f}" == "0.8",
    }
    return {name for name, ok in checks.items() if not ok}


def test_meets_constraints_accepts_a_hand_built_cohort():
    assert _broken(HAND_PRE, HAND_POST, HAND_THERAPY) == set()
    assert reconstruction.meets_constraints(HAND_PRE, HAND_POST, HAND_THERAPY, HAND_TARGETS, HAND_CLAIMS) is True


@pytest.mark.parametrize("constraint", list(BREAK_ONE))
def test_meets_constraints_rejects_a_cohort_that_breaks_one_constraint(constraint):
    cohort = {"pre": HAND_PRE.copy(), "post": HAND_POST.copy(), "therapy": HAND_THERAPY.copy()}
    for column, edits in BREAK_ONE[constraint].items():
        for i, value in edits.items():
            if column == "therapy":
                cohort[column][i] = value
            else:
                cohort[column][i] += value
    assert _broken(cohort["pre"], cohort["post"], cohort["therapy"]) == {constraint}
    assert (
        reconstruction.meets_constraints(cohort["pre"], cohort["post"], cohort["therapy"], HAND_TARGETS, HAND_CLAIMS)
        is False
    )


def test_meets_constraints_takes_the_percentages_from_the_claims():
    # Same cohort, a claim of 67% remission (8 of 12): rejected although the targets' counts are unchanged.
    other = [HAND_CLAIMS[0], dict(HAND_CLAIMS[1], value=67)]
    assert not reconstruction.meets_constraints(HAND_PRE, HAND_POST, HAND_THERAPY, HAND_TARGETS, other)


def test_both_remission_counts_that_round_to_62_percent_are_used(rec):
    assert [k for k in range(118) if round(100 * k / 117) == 62] == [72, 73]
    assert set((rec.pcl5_post < 33).sum(axis=1)) == {72, 73}
    assert reconstruction.count_options(88, 117) == [88]


def test_cohorts_differ_and_span_a_range_of_correlations(rec):
    assert len({post.tobytes() for post in rec.pcl5_post}) == N_COHORTS
    r = [np.corrcoef(pre, post)[0, 1] for pre, post in zip(rec.pcl5_pre, rec.pcl5_post)]
    assert max(r) - min(r) > 0.3


# --------------------------------------------------------------------------- seeds
def test_same_seed_same_cohorts_other_seed_other_cohorts(rec):
    again = reconstruction.reconstruct_many(N_COHORTS, SEED)
    for name in ("pcl5_pre", "pcl5_post", "psychotherapy", "attempts"):
        assert np.array_equal(getattr(again, name), getattr(rec, name)), name
    other = reconstruction.reconstruct_many(3, SEED + 1)
    assert not np.array_equal(other.pcl5_post, rec.pcl5_post[:3])


def test_cohort_k_depends_on_its_own_seed_only(rec):
    fewer = reconstruction.reconstruct_many(5, SEED)
    assert np.array_equal(fewer.pcl5_post, rec.pcl5_post[:5])
    child = np.random.SeedSequence(SEED).spawn(N_COHORTS)[7]
    pre, post, therapy, _ = reconstruction.reconstruct_cohort(child)
    assert np.array_equal(pre, rec.pcl5_pre[7]) and np.array_equal(post, rec.pcl5_post[7])
    assert np.array_equal(therapy, rec.psychotherapy[7])


@pytest.mark.spawns
def test_parallel_gives_the_same_cohorts(rec):
    # 20 cohorts on 2 processes go in chunks of 3: each cohort once, in order, whatever the chunking.
    parallel = reconstruction.reconstruct_many(N_COHORTS, SEED, jobs=2)
    assert np.array_equal(parallel.pcl5_pre, rec.pcl5_pre)
    assert np.array_equal(parallel.pcl5_post, rec.pcl5_post)


def test_impossible_targets_fail_loudly():
    # 28 whole numbers cannot average 5.19 (Brown & Heathers 2017): refused before any search.
    with pytest.raises(reconstruction.ReconstructionError, match="5.19"):
        reconstruction.reconstruct_cohort(np.random.SeedSequence(0), reconstruction.Targets(n=28, pre_mean=5.19))
    # Scores of 33-80 cannot have an SD of 30: every starting draw stalls, then the search gives up.
    with pytest.raises(reconstruction.ReconstructionError, match="starting draws"):
        reconstruction.reconstruct_cohort(np.random.SeedSequence(0), reconstruction.Targets(pre_sd=30.0), max_steps=50)


# --------------------------------------------------------------------------- statistics per cohort
@pytest.mark.parametrize("k", [0, 11])
def test_statistics_equal_the_library_functions(rec, k):
    table = reconstruction.reconstruction_statistics(
        rec, mcid=10, reliability=0.82, response_fraction=0.3, remission_cutoff=33, ci_level=0.95
    )
    assert list(table.columns) == list(reconstruction.STATISTICS_COLUMNS) and len(table) == N_COHORTS
    row = table.iloc[k]
    cohort = pd.DataFrame(
        {
            "pcl5_pre": pd.array(rec.pcl5_pre[k], dtype="Int64"),
            "pcl5_post": pd.array(rec.pcl5_post[k], dtype="Int64"),
            "psychotherapy": pd.array(rec.psychotherapy[k], dtype="boolean"),
        }
    )
    expected = {}
    expected.update(stats.paired_outcome(rec.pcl5_pre[k], rec.pcl5_post[k], 0.95))
    expected.update(stats.clinical_significance(cohort, 10, 0.82, 0.3, 33))
    expected.update(stats.psychotherapy_contrast(cohort, 0.95))
    for key in reconstruction.STATISTICS_COLUMNS:
        if key in ("cohort", "seed", "attempts"):
            continue
        assert row[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12), key
    assert row["cohort"] == k and row["seed"] == SEED


def test_long_format_holds_every_score(rec):
    long = reconstruction.long_format(rec)
    assert len(long) == N_COHORTS * 117
    third = long[long["cohort"] == 3].sort_values("patient")
    assert np.array_equal(third["pcl5_post"], rec.pcl5_post[3])
    assert list(third["patient"]) == list(range(1, 118))


def test_spread_table_by_hand():
    spread = pd.DataFrame({key: [3.0, 1.0, 2.0, 10.0] for key in reconstruction.UNREPORTED})
    table = reconstruction.spread_table(spread, {"d_z": 2.5, "t": None})
    assert list(table.columns) == ["quantity", "lowest", "median", "highest", "this book's cohort"]
    assert list(table["quantity"]) == list(reconstruction.UNREPORTED.values())
    assert (table["lowest"] == 1.0).all() and (table["median"] == 2.5).all() and (table["highest"] == 10.0).all()
    own = dict(zip(reconstruction.UNREPORTED, table["this book's cohort"]))
    assert own["d_z"] == 2.5 and np.isnan(own["t"]) and np.isnan(own["r_pre_post"])
    assert set(reconstruction.UNREPORTED) <= set(reconstruction.STATISTICS_COLUMNS)


# --------------------------------------------------------------------------- the floor on the SD of change
def test_change_sd_floor_is_the_two_point_split():
    # 29 changes of 9 and 88 sharing the rest of 2780: the SD by numpy equals the floor.
    split = np.r_[np.full(29, 9.0), np.full(88, (2780 - 29 * 9) / 88)]
    assert split.mean() == pytest.approx(2780 / 117)
    assert summary_effects.change_sd_floor(2780 / 117, 117, 29, 9) == pytest.approx(np.std(split, ddof=1))
    assert summary_effects.change_sd_floor(5.0, 10, 3, 9) == 0.0  # mean change not above the threshold
    assert summary_effects.change_sd_floor(20.0, 10, 0, 9) == 0.0


def test_change_sd_floor_is_never_beaten_by_whole_numbers():
    # Every 4 whole-number changes of 0-20 summing to 40 with at least one of them at most 4.
    best = min(
        np.std(v, ddof=1)
        for v in itertools.product(range(21), repeat=4)
        if sum(v) == 40 and sum(x <= 4 for x in v) >= 1
    )
    floor = summary_effects.change_sd_floor(10.0, 4, 1, 4)
    assert floor == pytest.approx(best)  # 4 and three 12s: reached exactly


def test_reconstructed_cohorts_respect_the_floor(rec):
    floor = summary_effects.change_sd_floor(2780 / 117, 117, 117 - 88, 9)
    assert (np.std(rec.pcl5_pre - rec.pcl5_post, axis=1, ddof=1) >= floor).all()


# --------------------------------------------------------------------------- claims on the bundled cohort
@pytest.fixture(scope="module")
def bundled_comparison():
    cohort = validate_file(paths.BUNDLED_COHORT).cohort
    done = stats.completers(cohort)
    results = {}
    results.update(describe.cohort_summary(cohort, min_cell=0))
    results.update(stats.paired_outcome(done["pcl5_pre"], done["pcl5_post"], 0.95))
    results.update(stats.clinical_significance(cohort, 10, 0.82, 0.3, 33))
    table = stats.moderator_table(cohort, ci_level=0.95, min_cell=0)
    results.update({f"moderator_p_{row.moderator}": row.p for row in table.itertuples()})
    results.update(stats.psychotherapy_contrast(cohort, 0.95))
    published = references.load_claims()
    return published, {row["id"]: row for row in claims.compare_claims(published, results)}, results


def test_bundled_cohort_matches_every_computable_claim_but_the_contradicted_ones(bundled_comparison):
    published, rows, results = bundled_comparison
    contradicted = {"pre_mean_preprint", "post_mean_preprint", "infusions_protocol_preprint", "d_preprint"}
    for claim in published:
        row = rows[claim["id"]]
        # The bundled file has one score after treatment: claims about follow-up have no value to compare.
        if claim["result_key"] is None or claim["result_key"] not in results:
            assert row["status"] == "not computable", claim["id"]
        elif claim["id"] in contradicted:
            assert row["status"] == "differs", claim["id"]
        else:
            assert row["status"] == "matches", claim["id"]
    # Each contradicted mean or count has a rival from the other version that this cohort matches.
    for claim_id in contradicted - {"d_preprint"}:
        assert any(rows[r]["status"] == "matches" for r in rows[claim_id]["rivals"]), claim_id


def test_preprint_d_cannot_go_with_the_published_means_and_preprint_sds():
    # (52.54 - 28.78) / sqrt((11.90^2 + 16.52^2) / 2) = 23.76 / 14.3963 = 1.6504, by hand.
    defs = summary_effects.d_definitions(52.54, 11.90, 28.78, 16.52, 117, decimals=2)
    assert defs["d_av"] == pytest.approx(1.6504, abs=1e-4)
    low, high = defs["ranges"]["d_av"]
    assert low > 1.605  # so d = 1.60 (at most 1.605) is out of reach


# --------------------------------------------------------------------------- the command
@pytest.mark.spawns
def test_reconstruct_command_is_seeded_and_documented(tmp_path):
    cli = [sys.executable, "-m", "ketamine_ptsd.cli", "reconstruct"]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (first, second):
        proc = subprocess.run([*cli, "--n-cohorts", "3", "--seed", "9", "--out", out], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert first.read_bytes() == second.read_bytes()
    table = pd.read_csv(first)
    assert list(table.columns) == list(reconstruction.STATISTICS_COLUMNS) and len(table) == 3
    proc = subprocess.run([*cli, "--long"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--n-cohorts" in proc.stderr
    help_text = subprocess.run([*cli, "--help"], capture_output=True, text=True).stdout
    assert "SeedSequence" in help_text and "long format" in help_text
