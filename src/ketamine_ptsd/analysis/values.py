"""Values as JSON holds them: what every published number is turned into before it leaves the library."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: numpy scalars unwrapped, NaN and infinities as None.

    >>> plain({"n": np.int64(3), "d": np.float64("nan"), "ok": np.bool_(True), "xs": (1.5, None)})
    {'n': 3, 'd': None, 'ok': True, 'xs': [1.5, None]}
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    raise TypeError(f"cannot publish a value of type {type(value).__name__}")


def as_float(x) -> float | None:
    """A plain float, or None for anything missing (None, ``pd.NA``, NaN) or infinite.

    >>> as_float(np.float32(2.5)), as_float(float("inf")), as_float(pd.NA), as_float(None)
    (2.5, None, None, None)
    """
    if x is None or x is pd.NA:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column that holds a missing value turned into an object column of None, so its
    rows serialise to JSON (``to_dict(orient="records")``) without NaN.

    >>> plain_frame(pd.DataFrame({"x": [1.0, float("nan")], "y": [1, 2]})).to_dict(orient="records")
    [{'x': 1.0, 'y': 1}, {'x': None, 'y': 2}]
    """
    for col in frame.columns:
        if frame[col].isna().any():
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame
