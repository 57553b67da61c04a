"""Many tests: the chance of a false-positive moderator, and Holm and Bonferroni adjustments."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis.stats import holm as holm_adjusted
from ketamine_ptsd.analysis.values import plain_frame as _plain
from ketamine_ptsd.parameters import DEFAULTS


def familywise_error_rate(k: int, alpha: float = DEFAULTS["alpha"]) -> float:
    """Chance of at least one false positive among k independent tests at level alpha: ``1 - (1 - alpha)^k``."""
    return 1 - (1 - alpha) ** k


def multiplicity(pvalues: Mapping[str, float | None], alpha: float = DEFAULTS["alpha"]) -> pd.DataFrame:
    """Raw, Holm and Bonferroni adjusted p-values of a family of tests.

    Parameters
    ----------
    pvalues : mapping of str to float or None
        Test name -> p. None (a test that could not be run) is kept as a row and left out of the family.
    alpha : float

    Returns
    -------
    pandas.DataFrame
        ``test, p_raw, p_holm, p_bonferroni, significant_raw, significant_holm, significant_bonferroni``.
        ``attrs`` holds ``k`` (tests in the family), ``fwer_uncorrected`` (:func:`familywise_error_rate`) and
        ``n_significant``: the tests below ``alpha`` by each column (``raw``, ``holm``, ``bonferroni``).
    """
    names = list(pvalues)
    p = np.array([np.nan if pvalues[t] is None else float(pvalues[t]) for t in names], dtype=float)
    have = ~np.isnan(p)
    k = int(have.sum())
    holm = np.array([np.nan if h is None else h for h in holm_adjusted([pvalues[t] for t in names])], dtype=float)
    bonf = np.minimum(1.0, p * k)
    out = pd.DataFrame(
        {
            "test": names,
            "p_raw": p,
            "p_holm": holm,
            "p_bonferroni": bonf,
            "significant_raw": np.where(have, p < alpha, None),
            "significant_holm": np.where(have, holm < alpha, None),
            "significant_bonferroni": np.where(have, bonf < alpha, None),
        }
    )
    out = _plain(out)
    out.attrs["k"] = k
    out.attrs["fwer_uncorrected"] = familywise_error_rate(k, alpha)
    out.attrs["n_significant"] = {
        how: int((out[f"significant_{how}"] == True).sum())  # noqa: E712 (True/False/None column)
        for how in ("raw", "holm", "bonferroni")
    }
    return out
