"""Tables as the book shows them."""

from __future__ import annotations

import numpy as np


def show_table(frame, float_format: str = "{:.2f}", caption: str | None = None, name: str | None = None):
    """An HTML table with every cell escaped, so text from the data file is shown, never interpreted,
    followed by a link that downloads the same table, unrounded, as CSV (``name``.csv)."""
    import base64
    import re
    from html import escape

    import pandas as pd
    from IPython.display import HTML

    def cell(value):
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return ""
        if isinstance(value, (float, np.floating)):
            return float_format.format(value)
        return value

    shown = frame.astype(object).map(cell)
    html = shown.to_html(index=False, escape=True, border=0, classes="table")
    if caption:
        html = html.replace(">\n  <thead>", f">\n  <caption>{escape(caption)}</caption>\n  <thead>", 1)
    slug = name or re.sub(r"[^a-z0-9]+", "-", (caption or "table").lower()).strip("-")[:60]
    csv = base64.b64encode(frame.to_csv(index=False).encode("utf-8")).decode("ascii")
    link = (
        f'<p class="table-download"><a download="{escape(slug)}.csv" href="data:text/csv;base64,{csv}">'
        f"Download this table as CSV</a></p>"
    )
    return HTML(html + link)
