"""Sphinx hooks for the book: tables printed by code are numbered and can be referred to, like figures.

A notebook output is raw HTML to Sphinx, so a table in it has no number and no label. Output that opens
with ``<div class="house-table" id="tbl-NAME">``, optionally followed by ``<p class="house-table-caption">
CAPTION</p>``, becomes a numbered table: its caption is read out of the HTML and given the number Sphinx
assigns ("Table 3.1" when chapters are numbered), and ``{numref}`tbl-NAME``` links to it from any page.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx.transforms import SphinxTransform

OPENING = re.compile(r'\A\s*<div class="house-table" id="(?P<id>tbl-[\w-]+)">')
CAPTION = re.compile(r'<p class="house-table-caption">(?P<text>.*?)</p>', re.S)


class numbered_table(nodes.General, nodes.Element):  # noqa: N801 - docutils names nodes in lower case
    """A table from a notebook output, with a caption Sphinx numbers."""


class NumberTables(SphinxTransform):
    # Before Sphinx collects labels and figure numbers from the read document.
    default_priority = 500

    def apply(self, **kwargs) -> None:
        for raw in list(self.document.findall(nodes.raw)):
            match = OPENING.match(raw.astext()) if "html" in raw.get("format", "").split() else None
            if not match:
                continue
            text = raw.astext()
            table = numbered_table()
            caption = CAPTION.search(text)
            if caption:
                table += nodes.caption("", html.unescape(caption.group("text")))
                text = text[: caption.start()] + text[caption.end() :]
            table["ids"].append(match.group("id"))
            table["names"].append(match.group("id"))
            # The id moves to the numbered table, which links point to; HTML allows it once.
            text = '<div class="house-table">' + text[match.end() :]
            table += nodes.raw("", text, format="html")
            raw.replace_self(table)
            self.document.note_explicit_target(table, table)


def _visit(self, node) -> None:
    self.body.append(self.starttag(node, "figure", CLASS="numbered-table"))


def _depart(self, node) -> None:
    self.body.append("</figure>\n")


def _skip(self, node) -> None:
    raise nodes.SkipNode


def setup(app):
    app.add_enumerable_node(numbered_table, "table", html=(_visit, _depart), latex=(_skip, None), text=(_skip, None))
    app.add_transform(NumberTables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
