"""What the limitation modules share: filling a sentence from values, Markdown, and the summary table's row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.analysis.values import as_float


def sentence(template: str, missing: str, **values) -> str:
    """``template`` filled with ``values``, or ``missing`` when any value is None (the data could not give it).

    The chapter builds its data-dependent sentences this way, from numbers only, so a value that is absent
    for some cohort gives a sentence saying so instead of a failed build.

    >>> sentence("d = {d:.2f}", "not computed", d=1.234)
    'd = 1.23'
    >>> sentence("d = {d:.2f}", "not computed", d=None)
    'not computed'
    """
    if any(v is None for v in values.values()):
        return missing
    return template.format(**values)


def fmt(x: float | None, digits: int = 1) -> str:
    """``x`` with ``digits`` decimals, or "n/a". Its text is also recorded in ``results.json`` (the summary
    table's rows), so it keeps ASCII signs; the page sets them in the house style (``prose.typeset``).

    >>> fmt(2.345), fmt(None)
    ('2.3', 'n/a')
    """
    return "n/a" if x is None else f"{x:.{digits}f}"


def markdown(text: str):
    """``text`` for the notebook to show as Markdown (IPython is imported only when a paragraph is written)."""
    from IPython.display import Markdown

    return Markdown(text)


def join(lines) -> str:
    """The non-empty ``lines`` as one paragraph."""
    return " ".join(line for line in lines if line)


def suppressed_text(min_cell: int) -> str:
    """What a summary row says in place of a number the small-cell rule hid."""
    return f"suppressed (it rests on fewer than {min_cell} patients)"


def is_suppressed(values: Mapping | None, key: str) -> bool:
    """Whether the analysis output ``values`` names ``key`` among its suppressed values."""
    return values is not None and key in values.get(SUPPRESSED_KEY, ())


class Row(NamedTuple):
    """One limitation's row of :func:`ketamine_ptsd.presentation.limitations.summary_table`.

    ``quantity`` is the unrounded number behind ``by_how_much`` (None when not computed or suppressed);
    ``suppressed`` says the small-cell rule hid it.
    """

    limitation: str
    could_do: str
    quantity: float | None
    unit: str | None
    by_how_much: str
    design_to_settle: str
    suppressed: bool = False

    def cells(self) -> dict:
        """The row as the table's columns, ``quantity`` a plain float or None."""
        out = self._asdict()
        del out["suppressed"]
        out["quantity"] = as_float(self.quantity)
        return out
