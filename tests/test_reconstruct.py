"""The bundled synthetic cohort: regenerated from its seed, it meets every published aggregate."""

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.analysis import reconstruction


@pytest.fixture(scope="module")
def cohort():
    return pd.read_csv(paths.BUNDLED_COHORT)


def test_bundled_file_is_what_the_seeded_generator_writes(tmp_path):
    out = tmp_path / "cohort.csv"
    reconstruction.write_cohort(reconstruction.bundled_cohort(reconstruction.DEFAULT_SEED), out)
    assert out.read_bytes() == paths.BUNDLED_COHORT.read_bytes()


def test_published_means_and_preprint_sds_at_their_precision(cohort):
    assert len(cohort) == 117
    assert f"{cohort.pcl5_pre.mean():.2f}" == "52.54"
    assert f"{cohort.pcl5_post.mean():.2f}" == "28.78"
    assert f"{cohort.pcl5_pre.std(ddof=1):.2f}" == "11.90"
    assert f"{cohort.pcl5_post.std(ddof=1):.2f}" == "16.52"


def test_published_percentages_and_entry_threshold(cohort):
    change = cohort.pcl5_pre - cohort.pcl5_post
    assert round(100 * (change >= 10).mean()) == 75
    assert round(100 * (cohort.pcl5_post < 33).mean()) == 62
    assert cohort.pcl5_pre.min() >= 33 and cohort.pcl5_pre.max() <= 80
    assert cohort.pcl5_post.between(0, 80).all()


def test_qualitative_claims(cohort):
    assert 4.5 < cohort.n_infusions.mean() < 5  # "an average of nearly five"
    reported = cohort.gender.dropna()
    assert (reported == "woman").mean() > 0.5  # "most were women"
    assert 0.40 <= cohort.race_ethnicity.isna().mean() <= 0.50  # "nearly half did not report"


def test_psychotherapy_effect_by_hand(cohort):
    change = cohort.pcl5_pre - cohort.pcl5_post
    a, b = change[cohort.psychotherapy], change[~cohort.psychotherapy]
    pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(change) - 2))
    assert f"{(a.mean() - b.mean()) / pooled:.2f}" == "0.42"


def test_search_is_exact_for_other_targets():
    targets = reconstruction.Targets(
        n=40, pre_mean=60.1, post_mean=35.45, pre_sd=9.5, post_sd=14.2, n_clinically_significant=30, n_remission=18
    )
    pre, post = reconstruction.search_scores(targets, np.random.default_rng(5))
    assert f"{pre.mean():.2f}" == "60.10" and f"{post.mean():.2f}" == "35.45"
    assert f"{pre.std(ddof=1):.2f}" == "9.50" and f"{post.std(ddof=1):.2f}" == "14.20"
    assert ((pre - post) >= 10).sum() == 30 and (post < 33).sum() == 18


def test_impossible_targets_fail_loudly():
    # 10 integer scores cannot have a mean of 50.05.
    targets = reconstruction.Targets(
        n=10, pre_mean=50.0, post_mean=30.0, pre_sd=0.01, post_sd=5, n_clinically_significant=5, n_remission=5
    )
    with pytest.raises(reconstruction.ReconstructionError):
        reconstruction.search_scores(targets, np.random.default_rng(0), max_steps=2000)
