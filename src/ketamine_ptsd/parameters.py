"""The build's parameters: one place for their names, defaults and reasons.

Each notebook declares the parameters it reads in its ``parameters`` cell, taking the default from
:data:`DEFAULTS`; the build injects only those, so a notebook's cache key depends only on what it reads.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

#: name -> (default, one-line reason). Names are the data contract's.
SPEC: dict[str, tuple[Any, str]] = {
    "mcid": (10, "clinically significant change in points (NCPTSD guidance: 10-20 points)"),
    "reliability": (0.82, "PCL-5 test-retest r for the reliable change index (Blevins et al. 2015)"),
    "rci_sd": (
        None,
        "SD of pcl5_pre for the reliable change index: not set (null) = the completers' own baseline SD, which the entry "
        "threshold narrows (a smaller threshold); a number = a normative SD, whose source your parameters file names",
    ),
    "marx_reliable_change": (
        15,
        "reliable change on the PCL-5: a drop of at least this many points (Marx et al. 2022: 15-18; the lower end)",
    ),
    "marx_end_score": (
        28,
        "clinically significant with reliable change: pcl5_post at most this (Marx et al. 2022: 28 or less)",
    ),
    "response_fraction": (0.30, "response: a drop of at least this fraction of pcl5_pre"),
    "remission_cutoff": (33, "remission: pcl5_post below this (probable-PTSD cutoff, Bovin et al. 2016)"),
    "remission_cutoffs_sensitivity": ([31, 33], "remission cutoffs shown in the sensitivity table"),
    "change_thresholds_sensitivity": ([5, 10, 15], "change thresholds shown in the sensitivity table"),
    "alpha": (0.05, "significance level for tests and Holm adjustment"),
    "ci_level": (0.95, "confidence level of every interval"),
    "min_cell": (5, "aggregate cells from fewer patients than this are suppressed in the book"),
    "rtm_entry_threshold": (
        33,
        "regression to the mean: lowest baseline PCL-5 assumed admitted (probable-PTSD "
        "cutoff, Bovin et al. 2016); the study's own threshold is not published",
    ),
    "rtm_population_mean": (
        47.0,
        "regression to the mean: assumed mean PCL-5 of the population patients came "
        "from (Osmind real-world baseline, about 47); the chapter's grid varies it",
    ),
    "rtm_population_sd": (
        15.0,
        "regression to the mean: assumed SD of that population, wider than a selected "
        "cohort's (selection narrows spread); the chapter's grid varies it",
    ),
    "mi_imputations": (
        20,
        "multiple imputation: data sets pooled by Rubin's rules; at least the percentage of "
        "incomplete cases keeps Monte Carlo error small (White, Royston & Wood 2011)",
    ),
    "mi_seed": (20240917, "multiple imputation: seed of the random draws, so a rebuild gives the same numbers"),
    "multiverse_remission_cutoffs": (
        [31, 32, 33],
        "multiverse: remission is pcl5_post below each; the probable-PTSD cutoffs (Bovin et al. 2016; NCPTSD). "
        "The end score of Marx et al. (2022) is part of their combined criterion, a different construct",
    ),
    "multiverse_mcids": (
        [10, 15, 20],
        "multiverse: clinically significant change in points (NCPTSD guidance: 10-20; a drop of 5-10 is only "
        "reliable change); the combined criterion of Marx et al. (2022) is added beside them",
    ),
    "multiverse_response_fractions": (
        [0.3, 0.5],
        "multiverse: response as a drop of at least this fraction of pcl5_pre (30% as in Feder et al. 2021 "
        "and the Osmind records; 50%, the usual stricter trial definition)",
    ),
    "multiverse_reliabilities": (
        [0.82, 0.84],
        "multiverse: PCL-5 test-retest r for the reliable change index (Blevins et al. 2015; Bovin et al. 2016)",
    ),
    "multiverse_entry_thresholds": (
        [0, 33],
        "multiverse: analyse every patient (0) or only those with pcl5_pre at or above each threshold (33: "
        "probable PTSD at entry, Bovin et al. 2016); the study's own entry rule is not published",
    ),
    "multiverse_null_draws": (
        2000,
        "multiverse: sign-flipped data sets of the specification-curve test (Simonsohn et al. 2020); 2,000 put "
        "the Monte Carlo error of a p near .05 at about .005",
    ),
    "multiverse_null_seed": (20261204, "multiverse: seed of the sign flips, so a rebuild gives the same p"),
    "bias_draws": (10_000, "bias analysis: Monte Carlo draws; 10,000 keep the error of a 95% limit near 0.1 SE"),
    "bias_seed": (20251201, "bias analysis: seed of the draws, so a rebuild gives the same numbers"),
    "bias_placebo_pcl5_only": (
        0,
        "bias analysis: 1 synthesises the placebo response from the PCL-5 control arms of data/benchmarks.yml "
        "only, 0 from every control arm with a within-group change on the PCL-5 or the CAPS-5",
    ),
    "bias_sd": (
        "d_av",
        "bias analysis: the SD that turns a within-group d into PCL-5 points: 'd_av' (the completers' d_av "
        "denominator, the paper's d) or 'pcl5_pre' (their baseline SD); the control arms' standardisers are "
        "not all published, so the chapter shows both",
    ),
    "bias_reliability_low": (0.82, "bias analysis: lowest PCL-5 test-retest r drawn (Blevins et al. 2015)"),
    "bias_reliability_high": (0.84, "bias analysis: highest PCL-5 test-retest r drawn (Bovin et al. 2016)"),
    "bias_sensitivity_reliability_low": (
        0.70,
        "bias analysis, sensitivity table: lowest r of the wide range (the limitations chapter's RTM grid: a "
        "retest weeks into treatment may correlate less than the published week-apart retests)",
    ),
    "bias_sensitivity_reliability_high": (0.90, "bias analysis, sensitivity table: highest r of the wide range"),
    "bias_population_mean_low": (
        31.0,
        "bias analysis: lowest mean PCL-5 of the source population (patients referred before any selection "
        "on the PCL-5) drawn: no source gives it, and a population of people with PTSD averaging below the "
        "lower probable-PTSD cutoff (31, Bovin et al. 2016) is unlikely; only means whose truncated normal "
        "gives back the cohort's baselines are kept",
    ),
    "bias_population_mean_high": (
        80.0,
        "bias analysis: highest source-population mean drawn: the scale's maximum, so the baselines, not the "
        "prior, bound it from above",
    ),
    "bias_population_sd_low": (
        5.0,
        "bias analysis: lowest source-population SD drawn, below any cohort's; only SDs whose truncated normal "
        "gives back the cohort's baseline SD are kept",
    ),
    "bias_population_sd_high": (
        30.0,
        "bias analysis: highest source-population SD drawn, more than a third of the 0-80 scale",
    ),
    "bias_dropout_delta_low": (
        -0.5,
        "bias analysis: dropouts' change as a fraction of the completers' mean change, lowest drawn (-0.5: "
        "dropouts worsened by half as much as completers improved, patients who left because they got worse; "
        "the scale's ceiling of 80 leaves little room below)",
    ),
    "bias_dropout_delta_high": (1.0, "bias analysis: highest fraction drawn (1: changed like completers, MAR)"),
    "pcl5_items_missing_max": (
        2,
        "PCL-5 items that may be empty in an assessment, whose total is then prorated (the mean of the answered "
        "items x 20); with more empty it has no total. Person-mean proration was found accurate with up to 20% "
        "of a scale's items missing (Downey & King 1998); 2 of 20 (10%) stays inside that, 0 turns it off",
    ),
    "durability_windows": (
        [30, 90, 180, 365],
        "follow-up windows, days after post: (0, 30], (30, 90], (90, 180], (180, 365] (data contract)",
    ),
    "durability_margin": (
        None,
        "sustained: the slope's upper confidence limit is below this worsening in points a month; not set (null) = mcid "
        "over 12 months (a clinically significant change could not return within a year)",
    ),
    "durability_random_slope_min_patients": (
        10,
        "a random slope of months only when at least this many patients have a follow-up (two or more totals "
        "after treatment); with fewer, a slope variance is poorly determined and the model has a random "
        "intercept only (this book's convention; few groups bias variance components: Maas & Hox 2005)",
    ),
}

DEFAULTS: dict[str, Any] = {name: default for name, (default, _) in SPEC.items()}

#: name -> (lowest, highest or None, must be a whole number); unlisted numbers must not be negative.
RULES: dict[str, tuple[float, float | None, bool]] = {
    "reliability": (0, 1, False),
    "response_fraction": (0, 1, False),
    "alpha": (0, 1, False),
    "ci_level": (0, 1, False),
    "min_cell": (0, None, True),
    "rtm_entry_threshold": (0, 80, False),
    "rtm_population_mean": (0, 80, False),
    "rtm_population_sd": (0, None, False),
    "mi_imputations": (2, None, True),
    "mi_seed": (0, None, True),
    "bias_draws": (100, None, True),
    "multiverse_null_draws": (100, None, True),
    "multiverse_null_seed": (0, None, True),
    "bias_seed": (0, None, True),
    "bias_placebo_pcl5_only": (0, 1, True),
    "bias_reliability_low": (0, 1, False),
    "bias_reliability_high": (0, 1, False),
    "bias_population_mean_low": (0, 80, False),
    "bias_population_mean_high": (0, 80, False),
    "bias_population_sd_low": (0, None, False),
    "bias_population_sd_high": (0, None, False),
    "bias_dropout_delta_low": (-1, 1, False),
    "bias_sensitivity_reliability_low": (0, 1, False),
    "bias_sensitivity_reliability_high": (0, 1, False),
    "bias_dropout_delta_high": (-1, 1, False),
    "rci_sd": (0, None, False),
    "marx_reliable_change": (0, 80, False),
    "marx_end_score": (0, 80, False),
    "durability_margin": (0, None, False),
    "durability_random_slope_min_patients": (2, None, True),
    "pcl5_items_missing_max": (0, 19, True),
}
#: Parameters that may be null: their reason says what null stands for.
NULLABLE = {name for name, (default, _) in SPEC.items() if default is None}
#: (low, high) parameters of one range: low must not exceed high.
RANGES = [
    (f"bias_{name}_low", f"bias_{name}_high")
    for name in ("reliability", "population_mean", "population_sd", "dropout_delta", "sensitivity_reliability")
]
#: Parameters that take one of a few names: name -> the names allowed.
CHOICES = {"bias_sd": ("d_av", "pcl5_pre")}
#: Parameters whose bounds are themselves impossible values (a reliability of 1 divides by zero).
OPEN = {
    "reliability",
    "response_fraction",
    "alpha",
    "ci_level",
    "rtm_population_sd",
    "bias_population_sd_low",
    "bias_population_sd_high",
    "rci_sd",
    "durability_margin",
}


class ParameterError(ValueError):
    """A parameter name or value the build cannot use."""


def _check(name: str, value: Any) -> Any:
    if name not in SPEC:
        raise ParameterError(f"unknown parameter {name!r}; known: {', '.join(SPEC)}")
    default = SPEC[name][0]
    if value is None and name in NULLABLE:
        return None
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise ParameterError(f"parameter {name}: expected one of {', '.join(CHOICES[name])}, got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            raise ParameterError(f"parameter {name}: expected a list of numbers, got {value!r}")
        if name == "durability_windows" and (not value or value[0] <= 0 or value != sorted(set(value))):
            raise ParameterError(f"parameter {name}: expected increasing numbers of days above 0, got {value!r}")
        return value
    if not _is_number(value):
        raise ParameterError(f"parameter {name}: expected a number, got {value!r}")
    low, high, whole = RULES.get(name, (0, None, False))
    if whole and value != int(value):
        raise ParameterError(f"parameter {name}: must be a whole number, got {value!r}")
    if value < low or high is not None and value > high or name in OPEN and value in (low, high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ParameterError(
            f"parameter {name}: must be {bound}{' (exclusive)' if name in OPEN else ''}, got {value!r}"
        )
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def resolve(overrides: dict[str, Any] | None = None, params_file: str | Path | None = None) -> dict[str, Any]:
    """Defaults, then a YAML parameters file, then ``NAME=VALUE`` overrides; every value checked."""
    params = dict(DEFAULTS)
    if params_file is not None:
        try:
            loaded = yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ParameterError(f"{params_file}: cannot read parameters ({exc})") from None
        if not isinstance(loaded, dict):
            raise ParameterError(f"{params_file}: expected a mapping of parameter names to values")
        params.update({k: _check(k, v) for k, v in loaded.items()})
    for name, value in (overrides or {}).items():
        params[name] = _check(name, value)
    for low, high in RANGES:
        if params[low] > params[high]:
            raise ParameterError(f"parameter {low} ({params[low]!r}) exceeds {high} ({params[high]!r})")
    return params


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"mcid=15"`` -> ``("mcid", 15)``; values are read as YAML (numbers, lists)."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ParameterError(f"--param expects NAME=VALUE, got {text!r}")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ParameterError(f"--param {name}: cannot read value {raw!r}") from None
    return name.strip(), value
