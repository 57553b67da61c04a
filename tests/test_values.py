"""values.py: every published number passes through these, so each branch is checked against plain Python."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.analysis.values import as_float, plain, plain_frame


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [
        (np.int64(7), 7, int),
        (np.int8(-3), -3, int),
        (np.float32(2.5), 2.5, float),
        (np.float64(0.1), 0.1, float),
        (np.bool_(False), False, bool),
        (True, True, bool),  # a bool stays a bool, not 1
        (np.bool_(True), True, bool),
        (5, 5, int),
        (1.25, 1.25, float),
        ("text", "text", str),
        ("", "", str),
    ],
)
def test_scalars_become_plain_python_of_their_kind(value, expected, kind):
    out = plain(value)
    assert out == expected and type(out) is kind


@pytest.mark.parametrize(
    "missing", [None, float("nan"), np.nan, float("inf"), -np.inf, np.float32("nan"), pd.NA, pd.NaT]
)
def test_missing_and_infinite_become_none(missing):
    assert plain(missing) is None


def test_containers_are_walked_and_keys_become_strings():
    value = {1: (np.int64(2), [np.float64("nan"), {"x": np.bool_(True)}]), "k": []}
    assert plain(value) == {"1": [2, [None, {"x": True}]], "k": []}
    # The result is JSON as the standard library writes it, with no NaN token.
    assert json.loads(json.dumps(plain(value), allow_nan=False)) == {"1": [2, [None, {"x": True}]], "k": []}


def test_a_value_json_cannot_hold_is_refused_by_name():
    with pytest.raises(TypeError, match="cannot publish a value of type set"):
        plain({1, 2})
    with pytest.raises(TypeError, match="of type ndarray"):
        plain(np.array([1.0, 2.0]))


@pytest.mark.parametrize(
    ("x", "expected"),
    [(np.float32(2.5), 2.5), (3, 3.0), ("4.5", 4.5), (np.int64(-1), -1.0), (0.0, 0.0)],
)
def test_as_float_keeps_finite_numbers(x, expected):
    out = as_float(x)
    assert out == expected and type(out) is float


@pytest.mark.parametrize("x", [None, pd.NA, float("nan"), np.nan, float("inf"), -float("inf")])
def test_as_float_is_none_for_missing_and_infinite(x):
    assert as_float(x) is None


def test_plain_frame_turns_only_columns_with_a_gap_into_none():
    frame = pd.DataFrame({"x": [1.0, math.nan, 3.0], "y": [1, 2, 3], "z": ["a", None, "c"]})
    out = plain_frame(frame)
    records = out.to_dict(orient="records")
    assert records == [{"x": 1.0, "y": 1, "z": "a"}, {"x": None, "y": 2, "z": None}, {"x": 3.0, "y": 3, "z": "c"}]
    assert records[1]["x"] is None and records[1]["z"] is None
    # A column with no gap keeps its dtype; the one with a gap is object.
    assert out["y"].dtype == np.int64 and out["x"].dtype == object
    assert json.dumps(records, allow_nan=False)
