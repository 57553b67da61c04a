"""Sphinx hooks for the book: every inline script once, pages re-read when a value they glue changes,
citation lists that assistive technology can read, and a bibliography formatted once.

sphinx-thebe registers its configuration script each time Sphinx reads documents, and Jupyter Book reads
twice, so every page declared ``THEBE_JS_URL`` twice and the browser logged an error on each page.

A page can show a value glued in another notebook (myst-nb's ``path::key``), but Sphinx records no
dependency between the two: a build that reads only changed documents would keep the page's old value.
So the documents each page glues from are kept in the build environment, and a page is read again
whenever one of them changed.

sphinxcontrib-bibtex formats every entry of every bibliography whenever Sphinx reads any document (with its
tooltips, twice): 0.24 s of the book's render after one page changed. The entries as formatted are kept in the
build environment, keyed on everything formatting reads (:func:`_formatting_key`), and formatted again only
when that changed. And when a bib file changed, every page that cites is read again: sphinxcontrib-bibtex
makes only the page listing a bibliography depend on it, so the others kept their citations' old tooltips.
"""

from __future__ import annotations

import functools
import hashlib
import json


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    seen = set()
    unique = []
    for script in context.get("script_files", []):
        # The two copies differ only in an empty filename given as None or as "".
        name = getattr(script, "filename", script) or ""
        key = (str(name), tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _glued_from(env) -> dict[str, set[str]]:
    """Per document, the other documents it glues values from (kept in the pickled environment)."""
    if not hasattr(env, "kp_glued_from"):
        env.kp_glued_from = {}
    return env.kp_glued_from


def _record_glue_sources(app, doctree) -> None:
    from myst_nb.ext.glue.utils import PendingGlueReference

    sources = {node.refdoc for node in doctree.findall(PendingGlueReference)} - {app.env.docname}
    if sources:
        _glued_from(app.env)[app.env.docname] = sources


def _purge(app, env, docname) -> None:
    _glued_from(env).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    ours, theirs = _glued_from(env), _glued_from(other)
    ours.update({name: theirs[name] for name in docnames if name in theirs})


def _pages_gluing_from_changes(app, env, added, changed, removed) -> list[str]:
    touched = set(added) | set(changed) | set(removed)
    return sorted(name for name, sources in _glued_from(env).items() if sources & touched and name not in touched)


@functools.cache
def _style_code(name: str) -> str:
    """A digest of the code of pybtex's formatting style ``name``: its module and the modules it imports, as this
    process imported them (:func:`_remember_styles` asks before any page is read)."""
    import pybtex.plugin

    from ketamine_ptsd.engine.memo import code_key

    return code_key(pybtex.plugin.find_plugin("pybtex.style.formatting", name).__module__)


def _remember_styles(app) -> None:
    for name in (app.config.bibtex_default_style, app.config.bibtex_tooltips_style):
        if name:
            _style_code(name)


def _formatting_key(domain, bibliography, keys: list[str], tooltips: bool, tooltips_style: str) -> str:
    """What formatting a bibliography reads: its entries (the bib files' bytes, as read, and the keys chosen, in
    citation order), the pybtex styles with their code, the label prefix and the tooltips' settings."""
    styles = [bibliography.style, *([tooltips_style] if tooltips and tooltips_style else [])]
    files = [hashlib.sha256(path.read_bytes()).hexdigest() for path in bibliography.bibfiles]
    encoding = domain.env.config.bibtex_encoding
    payload = [files, encoding, keys, styles, [_style_code(s) for s in styles], bibliography.labelprefix, tooltips]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def _bibtex_domain():
    """sphinxcontrib-bibtex's domain, its formatted entries kept in the environment (one set per bibliography).

    A formatting that warned never reaches a later build: a warning fails the render, and the render folder,
    with the environment, is then made afresh.
    """
    from sphinxcontrib.bibtex.domain import BibtexDomain

    class Domain(BibtexDomain):
        def get_formatted_entries(self, bibliography_key, docnames, tooltips, tooltips_style):
            bibliography = self.bibliographies[bibliography_key]
            entries = {entry.key: entry for _, entry in self.get_sorted_entries(bibliography_key, docnames)}
            key = _formatting_key(self, bibliography, list(entries), tooltips, tooltips_style)
            kept = _formatted(self.env)
            if bibliography_key not in kept or kept[bibliography_key][0] != key:
                formatted = super().get_formatted_entries(bibliography_key, docnames, tooltips, tooltips_style)
                kept[bibliography_key] = key, [(entry.key, text, tip) for entry, text, tip in formatted]
            return [(entries[name], text, tip) for name, text, tip in kept[bibliography_key][1]]

    return Domain


def _keep_formatted_bibliographies(app, config) -> None:
    """In a book that has bibliographies (every extension is set up by now, and no domain made yet)."""
    if "sphinxcontrib.bibtex" in app.extensions:
        app.add_domain(_bibtex_domain(), override=True)
        app.connect("builder-inited", _remember_styles)
        app.connect("env-get-outdated", _pages_citing_a_changed_bib_file)


def _pages_citing_a_changed_bib_file(app, env, added, changed, removed) -> list[str]:
    """Every page that cites, once a bib file changed: its citations' labels and tooltips come from the entries,
    but sphinxcontrib-bibtex makes only the pages listing a bibliography depend on the bib files."""
    from pathlib import Path

    digest = hashlib.sha256(b"".join(Path(app.srcdir, f).read_bytes() for f in app.config.bibtex_bibfiles)).hexdigest()
    before, env.kp_bib_files = getattr(env, "kp_bib_files", None), digest
    if before in (None, digest):  # None: a new environment, in which Sphinx reads every page
        return []
    touched = set(added) | set(changed) | set(removed)
    return sorted({ref.docname for ref in env.get_domain("cite").citation_refs} - touched)


def _formatted(env) -> dict:
    """Per bibliography, the key of its formatting and its entries as formatted (kept in the pickled environment)."""
    if not hasattr(env, "kp_formatted_bibliographies"):
        env.kp_formatted_bibliographies = {}
    return env.kp_formatted_bibliographies


def _translator():
    """docutils' HTML translator with two changes.

    - Each bibliography entry is a ``listitem`` of its ``role="list"`` container: docutils marks an entry
      ``doc-biblioentry``, a role WAI-ARIA 1.2 deprecates (axe: aria-deprecated-role), and then the list has no
      ``listitem`` child (aria-required-children).
    - A figure's image is a link to the image file, so that on a phone, where a figure is drawn at a third of
      its size, a tap opens it full size (no script needed).
    """
    import posixpath
    import urllib.parse
    from html import escape

    from docutils import nodes
    from sphinx.writers.html5 import HTML5Translator

    class Translator(HTML5Translator):
        def visit_citation(self, node):
            if not isinstance(node.previous_sibling(), type(node)):
                self.body.append('<div role="list" class="citation-list">\n')
            self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))

        def visit_image(self, node):
            opens = isinstance(node.parent, nodes.figure)
            if opens:
                # Where HTML5Translator.visit_image will point the image, which it has not rewritten yet.
                uri = node["uri"]
                if uri in self.builder.images:
                    uri = posixpath.join(self.builder.imgpath, urllib.parse.quote(self.builder.images[uri]))
                self.body.append(f'<a class="house-figure-open" href="{escape(uri)}">')
            super().visit_image(node)
            if opens:
                self.body.append("</a>")

    return Translator


def _one_toggle_per_computation():
    """A post-transform that gives a computation one "Show code" toggle, not one per cell: the source of a
    hidden-input cell that shows nothing moves into the next cell's hidden source, when that cell follows it
    directly (before myst-nb wraps each hidden source in its own toggle)."""
    from docutils import nodes
    from sphinx.transforms.post_transforms import SphinxPostTransform

    def hidden_code(node):
        return (
            isinstance(node, nodes.container)
            and node.get("nb_element") == "cell_code"
            and node.get("hide_mode") == "input"
            and node.children
            and node.children[0].get("nb_element") == "cell_code_source"
        )

    def shows_nothing(cell):
        return all(child.get("nb_element") != "cell_code_output" or not child.children for child in cell.children)

    class OneToggle(SphinxPostTransform):
        default_priority = 198  # myst-nb's HideInputCells (199) then wraps what is left
        formats = ("html",)

        def run(self, **kwargs):
            for cell in list(self.document.findall(nodes.container)):
                following = cell.next_node(descend=False, siblings=True)
                if hidden_code(cell) and shows_nothing(cell) and hidden_code(following):
                    following.children[0].children[:0] = cell.children[0].children
                    cell.parent.remove(cell)

    return OneToggle


def setup(app):
    app.connect("config-inited", _keep_formatted_bibliographies)
    app.add_post_transform(_one_toggle_per_computation())
    for builder in ("html", "singlehtml", "dirhtml"):
        app.set_translator(builder, _translator(), override=True)
    app.connect("html-page-context", _unique_scripts, priority=900)
    app.connect("doctree-read", _record_glue_sources)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _pages_gluing_from_changes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
