"""Many tests: the moderator tests' family-wise error rate, and what survives Holm's and Bonferroni's
adjustments.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations.multiplicity`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.presentation.limitations._common import Row, markdown, sentence
from ketamine_ptsd.presentation.prose import format_p


def summary_row(tests: pd.DataFrame | None) -> Row:
    """The summary table's row: the chance of at least one false positive among the moderator tests.

    Parameters
    ----------
    tests : DataFrame or None
        From :func:`ketamine_ptsd.analysis.limitations.multiplicity`.

    Returns
    -------
    Row
    """
    q, text = None, "not computed"
    if tests is not None and len(tests):
        k, alpha_fwer = tests.attrs["k"], tests.attrs["fwer_uncorrected"]
        q = alpha_fwer
        raw, holm = tests.attrs["n_significant"]["raw"], tests.attrs["n_significant"]["holm"]
        text = (
            f"{k} tests: chance of at least one false positive {100 * alpha_fwer:.0f}% uncorrected; "
            f"{raw} significant before and {holm} after Holm adjustment"
        )
    return Row(
        "many moderator tests",
        "create false-positive moderators",
        q,
        "family-wise error rate",
        text,
        "preregistered primary outcome and moderator hypotheses",
    )


def paragraph(tests: pd.DataFrame, n_suppressed: int, contrast: Mapping, alpha: float, min_cell: int):
    """The family of moderator tests, the tests the small-cell rule left out of it, and the psychotherapy
    contrast outside it.

    Parameters
    ----------
    tests : DataFrame
        From :func:`ketamine_ptsd.analysis.limitations.multiplicity`.
    n_suppressed : int
        Moderator tests suppressed by the small-cell rule (left out of the family).
    contrast : mapping
        From :func:`ketamine_ptsd.analysis.stats.suppressed_contrast`.
    alpha : float
        The tests' significance level.
    min_cell : int
        The small-cell rule's threshold, for the sentences.

    Returns
    -------
    IPython.display.Markdown
    """
    k, significant = tests.attrs["k"], tests.attrs["n_significant"]
    if k == 0:
        text = "The data allow no moderator test, so there is no family of tests to correct."
        if n_suppressed:
            text += f" Tests resting on a group of fewer than {min_cell} completers are suppressed."
        return markdown(text)
    text = sentence(
        "The data allow {k:d} moderator tests. Were none of the moderators real and the tests independent, the "
        "chance of at least one p below {a:.2f} would be {fwer:.0f}%. Tests with p below {a:.2f}: {raw:d} of "
        "{k:d} before adjustment, {holm:d} after Holm's adjustment and {bonf:d} after Bonferroni's (which needs "
        "p below {thr:.4f}).",
        "",
        k=k,
        a=alpha,
        fwer=100 * tests.attrs["fwer_uncorrected"],
        raw=significant["raw"],
        holm=significant["holm"],
        bonf=significant["bonferroni"],
        thr=alpha / k,
    )
    if n_suppressed:
        text += (
            f" Another {n_suppressed:d} would rest on a group of fewer than {min_cell} completers: they "
            "are suppressed and left out of the family, as in the moderators chapter."
        )
    if contrast[SUPPRESSED_KEY]:
        text += (
            " The moderators chapter's two-sample t test of psychotherapy is suppressed here too: a group of "
            f"fewer than {min_cell} completers."
        )
    elif contrast["psychotherapy_p"] is not None:
        text += (
            " The moderators chapter also compares patients with and without psychotherapy in a two-sample "
            f"t test (p {format_p(contrast['psychotherapy_p'])}), a second test of the same question "
            "that is not in the family; the preprint's significant psychotherapy effect is one finding among "
            "several tests and would need a preregistered replication."
        )
    return markdown(text)
