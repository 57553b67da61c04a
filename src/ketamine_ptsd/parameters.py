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
    "response_fraction": (0.30, "response: a drop of at least this fraction of pcl5_pre"),
    "remission_cutoff": (33, "remission: pcl5_post below this (probable-PTSD cutoff, Bovin et al. 2016)"),
    "remission_cutoffs_sensitivity": ([31, 33], "remission cutoffs shown in the sensitivity table"),
    "change_thresholds_sensitivity": ([5, 10, 15], "change thresholds shown in the sensitivity table"),
    "alpha": (0.05, "significance level for tests and Holm adjustment"),
    "ci_level": (0.95, "confidence level of every interval"),
    "min_cell": (5, "aggregate cells from fewer patients than this are suppressed in the book"),
}

DEFAULTS: dict[str, Any] = {name: default for name, (default, _) in SPEC.items()}


class ParameterError(ValueError):
    """A parameter name or value the build cannot use."""


def _check(name: str, value: Any) -> Any:
    if name not in SPEC:
        raise ParameterError(f"unknown parameter {name!r}; known: {', '.join(SPEC)}")
    default = SPEC[name][0]
    if isinstance(default, list):
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            raise ParameterError(f"parameter {name}: expected a list of numbers, got {value!r}")
        return value
    if not _is_number(value):
        raise ParameterError(f"parameter {name}: expected a number, got {value!r}")
    bounds = {
        "reliability": (0, 1),
        "response_fraction": (0, 1),
        "alpha": (0, 1),
        "ci_level": (0, 1),
    }
    if name in bounds:
        lo, hi = bounds[name]
        if not lo < value < hi:
            raise ParameterError(f"parameter {name}: must lie strictly between {lo} and {hi}, got {value!r}")
    elif value < 0:
        raise ParameterError(f"parameter {name}: must not be negative, got {value!r}")
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
