"""Self-reported, unblinded outcome: a limitation these data cannot put a number on, so it has a row only."""

from __future__ import annotations

from ketamine_ptsd.presentation.limitations._common import Row


def summary_row() -> Row:
    """The summary table's row: patients knew what they received and rated themselves.

    Returns
    -------
    Row
    """
    return Row(
        "self-reported, unblinded outcome",
        "inflate",
        None,
        None,
        "not quantifiable from these data: patients knew they received ketamine and rated themselves",
        "blinded clinician-rated CAPS-5 alongside the PCL-5",
    )
