"""The published schema of results.json: well formed, complete, and strict enough to catch a broken value."""

import copy
import json
import re
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ketamine_ptsd import paths
from ketamine_ptsd.presentation import results

SCHEMA = json.loads(results.SCHEMA_PATH.read_text(encoding="utf-8"))

# Every key DATA_CONTRACT.md requires of results.json.
CONTRACT_KEYS = """n_patients n_completers pre_mean pre_sd post_mean post_sd mean_change change_sd change_ci_low
change_ci_high t df p d_av d_z wilcoxon_p pct_clinically_significant pct_reliable_improvement pct_response
pct_remission pct_remission_itt mean_infusions pct_women pct_gender_unreported pct_race_unreported
psychotherapy_d psychotherapy_p moderator_p_age moderator_p_gender moderator_p_days_between
moderator_p_n_psych_meds moderator_p_suicidal_ideation moderator_p_psychotherapy data_sha256 parameters
n_with_followup n_followup_assessments durability_n_responders_followed durability_n_lost_response
durability_median_days_to_loss durability_slope_per_month durability_slope_ci_low durability_slope_ci_high
durability_by_window n_serious_adverse_events""".split()


def _described(schema: dict) -> list[tuple[str, dict]]:
    """(where, schema) of every key and table column the schema describes."""
    out = [(f"properties.{k}", v) for k, v in schema["properties"].items()]
    out += [(f"patternProperties.{k}", v) for k, v in schema["patternProperties"].items()]
    for name, row in schema["$defs"].items():
        out += [(f"$defs.{name}.{k}", v) for k, v in row["properties"].items()]
    return out


def _types(entry: dict) -> set[str]:
    kind = entry.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def test_the_schema_is_valid_json_schema_2020_12():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_every_key_is_described_and_every_number_has_a_unit():
    entries = _described(SCHEMA)
    assert len(entries) > 250
    assert [where for where, entry in entries if len(entry.get("description", "")) < 10] == []
    numbers = [(where, entry) for where, entry in entries if _types(entry) & {"number", "integer"}]
    assert [where for where, entry in numbers if not entry.get("unit")] == []
    # A number the data or the small-cell rule can take away must be allowed to be null, and say so.
    assert [where for where, entry in numbers if "null" in _types(entry) and "null" not in entry["description"]] == []


def test_the_required_keys_are_described_and_include_the_contract():
    required = SCHEMA["required"]
    assert len(required) == len(set(required))
    assert [key for key in required if key not in SCHEMA["properties"]] == []
    assert [key for key in CONTRACT_KEYS if key not in required] == []
    # Every build publishes every described key (null where it cannot give one): the required list is the
    # properties, so a key described but left out of it is caught here rather than typed twice by hand.
    assert [key for key in SCHEMA["properties"] if key not in required] == []
    # Tables name their row schema, and each row schema's required columns are described.
    for name, row in SCHEMA["$defs"].items():
        assert [c for c in row["required"] if c not in row["properties"]] == [], name


def test_key_families_match_their_members_only():
    patterns = [re.compile(p) for p in SCHEMA["patternProperties"]]

    def families(key):
        return [p.pattern for p in patterns if p.search(key)]

    assert families("moderator_p_age") == families("moderator_p_holm_n_infusions") != []
    for key in ("ae_nausea_n", "ae_nausea_n_recorded", "ae_nausea_pct", "ae_nausea_ci_low", "ae_high_bp_ci_high"):
        assert len(families(key)) == 1, key
    for key in ("ae_nausea", "moderator_age", "n_patients", "pct_remission"):
        assert families(key) == [], key


def test_the_schema_ships_with_the_package():
    config = tomllib.loads((paths.REPO / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["setuptools"]["package-data"]["ketamine_ptsd"]
    assert results.SCHEMA_PATH.relative_to(paths.PACKAGE).as_posix() in shipped


# --- against a built book -------------------------------------------------------------------------------


def undescribed(published: dict) -> list[str]:
    """Keys and table columns of ``published`` the schema does not describe (it allows them, for chapters
    added later; a key the book already publishes must be described)."""
    patterns = [re.compile(p) for p in SCHEMA["patternProperties"]]
    missing = []
    for key, value in published.items():
        entry = SCHEMA["properties"].get(key)
        if entry is None and not any(p.search(key) for p in patterns):
            missing.append(key)
            continue
        ref = (entry or {}).get("items", {}).get("$ref", "")
        if ref.startswith("#/$defs/") and value:
            columns = SCHEMA["$defs"][ref.removeprefix("#/$defs/")]["properties"]
            missing += sorted({f"{key}[].{c}" for row in value for c in row if c not in columns})
    return missing


pipeline = pytest.mark.pipeline


@pipeline
def test_the_bundled_results_conform_and_every_key_is_described(bundled):
    _, r, _ = bundled
    assert results.check_schema(r) == []
    assert undescribed(r) == []


def _broken(r: dict, how: str) -> dict:
    r = copy.deepcopy(r)
    if how == "wrong type":
        r["n_patients"] = 117.5
    elif how == "missing required key":
        del r["pct_remission"]
    elif how == "string for a number":
        r["pre_mean"] = "52.54"
    elif how == "string for a number in a table":
        r["sensitivity"][1]["pct"] = "61.5%"
    elif how == "missing column":
        del r["claims"][2]["status"]
    elif how == "unknown status":
        r["claims"][0]["status"] = "roughly"
    elif how == "percentage above 100":
        r["pct_women"] = 101.0
    elif how == "p above 1":
        r["p"] = 1.5
    elif how == "null where never null":
        r["n_completers"] = None
    elif how == "malformed suppressed path":
        r["suppressed"] = ["sensitivity[0]n"]
    return r


@pipeline
@pytest.mark.parametrize(
    "how, problem",
    [
        ("wrong type", "n_patients: 117.5 is not of type 'integer'"),
        ("missing required key", "results.json: 'pct_remission' is a required property"),
        ("string for a number", "pre_mean: '52.54' is not of type 'number', 'null'"),
        ("string for a number in a table", "sensitivity[1].pct: '61.5%' is not of type 'number', 'null'"),
        ("missing column", "claims[2]: 'status' is a required property"),
        ("unknown status", "claims[0].status: 'roughly' is not one of"),
        ("percentage above 100", "pct_women: 101.0 is greater than the maximum of 100"),
        ("p above 1", "p: 1.5 is greater than the maximum of 1"),
        ("null where never null", "n_completers: None is not of type 'integer'"),
        ("malformed suppressed path", "suppressed[0]: 'sensitivity[0]n' does not match"),
    ],
)
def test_a_broken_value_is_reported_by_its_path(bundled, how, problem):
    _, r, _ = bundled
    problems = results.check_schema(_broken(r, how))
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_no_published_key_is_ever_removed_or_renamed():
    # tests/results/published_keys.txt grows with each new key; a rename shows as a key gone.
    lines = (Path(__file__).parent / "results" / "published_keys.txt").read_text(encoding="utf-8").splitlines()
    frozen = {line for line in lines if line and not line.startswith("#")}
    assert len(frozen) > 250
    assert frozen - set(SCHEMA["properties"]) == set()
