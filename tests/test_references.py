"""The benchmark file (``data/benchmarks.yml``) and its loader, :mod:`ketamine_ptsd.data.references`.

Expected values are transcribed by hand from the published sources; never read from the file under test."""

from __future__ import annotations

import pytest

from ketamine_ptsd.data import references


def test_benchmark_file_has_every_field_unique_ids_and_known_instruments(benchmarks):
    assert len({b["id"] for b in benchmarks}) == len(benchmarks)
    for b in benchmarks:
        assert set(references.BENCHMARK_FIELDS) <= set(b)
        assert b["instrument"] in ("PCL-5", "CAPS-5", "mixed", "not stated")
        # A number, a range, or a test without an effect size; else null because the sources lack it, said so.
        assert (
            b["value"] is not None
            or b["range_low"] is not None
            or b["measure"] == "between_group_test"
            or "null" in b["note"]
        ), b["id"]
        if b["ci_low"] is not None:
            assert b["ci_low"] <= b["value"] <= b["ci_high"], b["id"]
        if b["range_low"] is not None:
            assert b["range_low"] < b["range_high"], b["id"]


# Transcribed by hand from the project's reference facts ("Benchmarks" and "PCL-5" sections).
FACTS = {
    "feder2021_ketamine_response": (67, None, None),
    "feder2021_midazolam_response": (20, None, None),
    "meta2024_overall": (0.27, 0.03, 0.51),
    "meta2024_bias_adjusted": (0.20, -0.08, 0.48),
    "meta2024_24h": (0.35, 0.06, 0.64),
    "meta2024_active_controls": (0.24, -0.30, 0.78),
    "almeida2024_end_of_course": (0.25, None, None),
    "osmind_mean_change": (18.6, None, None),
    "osmind_pre_mean": (47, None, None),
    "osmind_response": (70, None, None),
    "osmind_complete_data": (16.5, None, None),
    "osmind_female": (66, None, None),
    "osmind_white": (94, None, None),
    "osmind_age": (42.3, None, None),
    "mapp1_mdma_within": (2.1, None, None),
    "mapp1_placebo_within": (1.2, None, None),
    "mapp1_between": (0.91, None, None),
    "mapp2_mdma_change": (23.7, None, None),
    "mapp2_placebo_change": (14.8, None, None),
    "mapp2_between": (0.7, None, None),
    "brady2000_sertraline_within": (1.45, None, None),
    "brady2000_placebo_within": (1.0, None, None),
    "cochrane_ssri_response": (58, None, None),
    "cochrane_placebo_response": (35, None, None),
    "morina2014_untreated_remission": (44, None, None),
    "blevins2015_reliability": (0.82, None, None),
    "bovin2016_reliability": (0.84, None, None),
    "marx2022_clinically_significant_end_score": (28, None, None),
    "morina2014_observation_period": (40, None, None),
}


def test_benchmark_values_match_reference_facts(benchmarks):
    by_id = {b["id"]: b for b in benchmarks}
    for id_, (value, lo, hi) in FACTS.items():
        b = by_id[id_]
        assert (b["value"], b["ci_low"], b["ci_high"]) == (value, lo, hi), id_
    assert (by_id["pcl5_cutoff"]["range_low"], by_id["pcl5_cutoff"]["range_high"]) == (31, 33)
    assert (by_id["mapp_placebo_therapy_change"]["range_low"], by_id["mapp_placebo_therapy_change"]["range_high"]) == (
        14,
        15,
    )
    assert (by_id["blanchard2023_mid"]["range_low"], by_id["blanchard2023_mid"]["range_high"]) == (8.5, 12.5)
    assert by_id["abdallah2022_group_by_time"]["n"] == 158
    assert by_id["meta2024_overall"]["n"] == 221
    assert by_id["osmind_complete_data"]["n"] == 8142
    # The quoted 16.5% is kept as published, but 1,306 of the entry's 8,142 patients is 16.0%: its note must
    # give the count and the share it implies.
    complete = by_id["osmind_complete_data"]
    assert f"1,306 of {complete['n']:,}" in complete["note"]
    assert f"{100 * 1306 / complete['n']:.1f}%" in complete["note"]
    # CAPS-5 and PCL-5 are kept apart.
    assert by_id["mapp2_placebo_change"]["instrument"] == "CAPS-5"
    assert by_id["osmind_mean_change"]["instrument"] == "PCL-5"


def test_derived_benchmarks_recompute_from_published_counts(benchmarks):
    by_id = {b["id"]: b for b in benchmarks}
    # Abdallah 2022: completers 36/41/40 of arms 54/53/51.
    arms = [
        ("abdallah2022_completion_placebo", 36, 54),
        ("abdallah2022_completion_ketamine_02", 41, 53),
        ("abdallah2022_completion_ketamine_05", 40, 51),
    ]
    for id_, done, arm in arms:
        assert by_id[id_]["value"] == pytest.approx(100 * done / arm, rel=1e-12)
        assert by_id[id_]["n_arm"] == arm
        assert by_id[id_]["derived"] == f"{done} completers / {arm} randomised * 100"
    # The arms make up the trial the file names.
    assert sum(by_id[id_]["n_arm"] for id_, _, _ in arms) == by_id["abdallah2022_group_by_time"]["n"]
    transcribed = [b for b in benchmarks if b["derived"] is None]
    assert len(transcribed) > 25


@pytest.mark.parametrize(
    "bad, message",
    [
        ("- {id: a, label: x}\n", "missing fields"),
        ("bad instrument", "instrument must be"),
        ("duplicate", "duplicate id"),
    ],
)
def test_load_benchmarks_rejects_malformed_files(tmp_path, bad, message):
    entry = {f: None for f in references.BENCHMARK_FIELDS} | {"id": "a", "instrument": "PCL-5"}
    import yaml

    if bad == "bad instrument":
        text = yaml.safe_dump([entry | {"instrument": "PCL-4"}])
    elif bad == "duplicate":
        text = yaml.safe_dump([entry, entry])
    else:
        text = bad
    path = tmp_path / "b.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        references.load_benchmarks(path)
