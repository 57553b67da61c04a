"""Parameters: defaults, overrides, bounds, and the places that list them."""

import re

import pytest

from ketamine_ptsd import parameters, paths
from ketamine_ptsd.parameters import SPEC


def test_defaults_are_the_contracts():
    d = parameters.DEFAULTS
    assert (d["mcid"], d["reliability"], d["response_fraction"], d["remission_cutoff"]) == (10, 0.82, 0.30, 33)


def test_overrides_and_file(tmp_path):
    f = tmp_path / "p.yml"
    f.write_text("mcid: 15\nremission_cutoffs_sensitivity: [28, 31, 33]\n")
    p = parameters.resolve({"reliability": 0.84}, f)
    assert p["mcid"] == 15 and p["reliability"] == 0.84 and p["remission_cutoffs_sensitivity"] == [28, 31, 33]


@pytest.mark.parametrize(
    "name,value",
    [
        ("nope", 1),
        ("mcid", "ten"),
        ("reliability", 1.5),
        ("mcid", -1),
        ("change_thresholds_sensitivity", 5),
        ("alpha", True),
        ("rtm_population_sd", 0),
        ("mi_imputations", 2.5),
        ("mi_imputations", 1),
        ("min_cell", 3.5),
        ("ci_level", 1),
        ("rci_sd", 0),
        ("durability_margin", 0),
        ("durability_margin", "a year"),
        ("durability_random_slope_min_patients", 1),
        ("mcid", None),  # only a parameter whose reason says what null means may be null
    ],
)
def test_bad_parameters_are_named(name, value):
    with pytest.raises(parameters.ParameterError, match=name if name != "nope" else "unknown"):
        parameters.resolve({name: value})


def test_parse_assignment():
    assert parameters.parse_assignment("mcid=15") == ("mcid", 15)
    assert parameters.parse_assignment("remission_cutoffs_sensitivity=[31,33]") == (
        "remission_cutoffs_sensitivity",
        [31, 33],
    )
    with pytest.raises(parameters.ParameterError):
        parameters.parse_assignment("mcid")


def test_edges_that_are_legal():
    p = parameters.resolve({"min_cell": 0, "mi_imputations": 2, "reliability": 0.5, "rtm_entry_threshold": 80})
    assert p["min_cell"] == 0 and p["mi_imputations"] == 2


def test_nullable_parameters_take_null_or_a_number():
    assert parameters.NULLABLE == {"rci_sd", "durability_margin"}
    p = parameters.resolve({"rci_sd": None, "durability_margin": None})
    assert p["rci_sd"] is None and p["durability_margin"] is None
    assert parameters.resolve({"rci_sd": 14.5, "durability_margin": 0.5})["rci_sd"] == 14.5
    assert parameters.parse_assignment("rci_sd=null") == ("rci_sd", None)


def _readme_section(title: str) -> str:
    text = (paths.REPO / "README.md").read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readmes_parameter_table_lists_exactly_the_parameters():
    # Rows name a parameter as `name`, or a low/high pair as `name_low`, `_high`.
    section = _readme_section("Parameters")
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = set()
    for row in rows:
        names = re.findall(r"`(\w+)`", row.split("|")[1])
        listed |= {names[0][: -len("_low")] + n if n.startswith("_") else n for n in names}
    assert listed == set(SPEC)


def test_every_parameter_a_notebook_takes_is_defined_and_read():
    taken = {
        name
        for notebook in paths.NOTEBOOKS.glob("*.md")
        for name in re.findall(r'DEFAULTS\["(\w+)"\]', notebook.read_text(encoding="utf-8"))
    }
    assert taken - set(SPEC) == set()  # else a KeyError in the middle of a build
    # A parameter read by no chapter changes nothing; the validation reads its own.
    unread = set(SPEC) - taken - {"pcl5_items_missing_max"}
    assert unread == set()
