import pytest

from ketamine_ptsd import parameters


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
