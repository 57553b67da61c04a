"""Sphinx hooks for the book: tables printed by code are numbered and can be referred to, like figures.

A notebook output is raw HTML to Sphinx, so a table in it has no number and no label. Output that opens
with ``<div class="house-table" id="tbl-NAME">``, optionally followed by ``<p class="house-table-caption">
CAPTION</p>``, becomes a numbered table: its caption is read out of the HTML and given the number Sphinx
assigns ("Table 3.1" when chapters are numbered), and ``{numref}`tbl-NAME``` links to it from any page.
The line under the table gains a link to the page's executed notebook (``_sources/``), the code behind it.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

OPENING = re.compile(r'\A\s*<div class="house-table" id="(?P<id>tbl-[\w-]+)">')
CAPTION = re.compile(r'<p class="house-table-caption">(?P<text>.*?)</p>', re.S)


class numbered_table(nodes.General, nodes.Element):  # noqa: N801 - docutils names nodes in lower case
    """A table from a notebook output, with a caption Sphinx numbers."""


class NumberTables(SphinxTransform):
    # Before Sphinx collects labels and figure numbers from the read document.
    default_priority = 500

    def apply(self, **kwargs) -> None:
        source = "../" * self.env.docname.count("/") + "_sources/" + str(self.env.doc2path(self.env.docname, False))
        self.link_figures(source)
        for raw in list(self.document.findall(nodes.raw)):
            match = OPENING.match(raw.astext()) if "html" in raw.get("format", "").split() else None
            if not match:
                continue
            text = raw.astext()
            table = numbered_table()
            caption = CAPTION.search(text)
            if caption:
                table += nodes.caption("", html.unescape(caption.group("text")), classes=["caption"])
                text = text[: caption.start()] + text[caption.end() :]
            table["ids"].append(match.group("id"))
            table["names"].append(match.group("id"))
            # The id moves to the numbered table, which links point to; HTML allows it once.
            text = '<div class="house-table">' + text[match.end() :]
            # The code that made the table is one click away: the page's executed notebook, as published.
            text = text.replace(
                '<p class="table-download">',
                f'<p class="table-download"><a class="table-code" href="{html.escape(source)}">The code that made '
                "this table (executed notebook)</a> · ",
                1,
            )
            table += nodes.raw("", text, format="html")
            raw.replace_self(table)
            self.document.note_explicit_target(table, table)

    def link_figures(self, source: str) -> None:
        """Give a figure drawn by a cell a link to the page's executed notebook, unless its caption has one."""
        for figure in self.document.findall(nodes.figure):
            caption = next(iter(figure.findall(nodes.caption)), None)
            drawn = any(a.get("nb_element") == "cell_code" for a in _ancestors(figure))
            linked = any(
                str(n.get("reftarget", "")).endswith(".ipynb") for n in figure.findall(addnodes.download_reference)
            )
            if caption is None or not drawn or linked:
                continue
            caption += nodes.Text(" ")
            caption += nodes.raw(
                "",
                f'<a class="figure-code" href="{html.escape(source)}">The code that made it (executed notebook).</a>',
                format="html",
            )


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


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
