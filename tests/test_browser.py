"""The book as readers meet it: headless Chromium (Debian's package) against the book served on localhost."""

import contextlib
import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import pytest

from ketamine_ptsd import paths

from .helpers import run

pytestmark = [pytest.mark.pipeline, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = paths.REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]

if CHROMIUM is None:
    pytest.skip("Chromium is not installed; install it with: apt-get install chromium", allow_module_level=True)


@contextlib.contextmanager
def served(html: Path):
    """``html`` served on localhost: its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def site(bundled):
    html = bundled[0] / "html"
    with served(html) as url:
        yield url, html, bundled[1]


@pytest.fixture(scope="module")
def redcap_site(tmp_path_factory):
    """The book built from the bundled REDCap export through its mapping: a clinic's book, with its follow-up
    chapter and adverse events."""
    out = tmp_path_factory.mktemp("redcap") / "out"
    data, columns = paths.DATA / "example_redcap_export.csv", paths.DATA / "example_redcap_columns.yml"
    proc = run("build", "--data", data, "--columns", columns, "--out", out)
    assert proc.returncode == 0, proc.stderr
    with served(out / "html") as url:
        yield url, out / "html", json.loads((out / "results.json").read_text())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, url, width=1280, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A request cut short because the page navigated on (the landing redirect) is not a failure.
    page.on(
        "requestfailed",
        lambda req: (
            None
            if "ERR_ABORTED" in (req.failure or "")
            else errors.append(f"request failed: {req.url} ({req.failure})")
        ),
    )
    page.on("response", lambda resp: errors.append(f"HTTP {resp.status}: {resp.url}") if resp.status >= 400 else None)
    page.goto(url, wait_until="networkidle")
    return page, errors


def chapter_urls(html: Path) -> list[str]:
    return sorted(str(p.relative_to(html)) for p in html.glob("notebooks/*.html")) + ["book/bibliography.html"]


def test_every_page_loads_without_console_errors_and_every_image_decodes(site, browser):
    base, html, _ = site
    for rel in ["index.html", *chapter_urls(html), "search.html"]:
        page, errors = open_page(browser, f"{base}/{rel}")
        assert not errors, f"{rel}: {errors}"
        broken = page.eval_on_selector_all(
            "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))"
        )
        assert not broken, f"{rel}: images that did not decode: {broken}"
        page.close()


def test_navigation_reaches_every_chapter(site, browser):
    base, html, _ = site
    page, _ = open_page(browser, f"{base}/index.html")
    seen = {page.url.split("/", 3)[3].split("#")[0]}
    for _ in range(40):
        nxt = page.query_selector("a.right-next")
        if nxt is None:
            break
        nxt.click()
        page.wait_for_load_state("networkidle")
        seen.add(page.url.split("/", 3)[3].split("#")[0])
    missing = set(chapter_urls(html)) - seen
    assert not missing, f"'next' links never reach {missing}"


def test_search_finds_a_term(site, browser):
    base, _, _ = site
    page, errors = open_page(browser, f"{base}/search.html?q=remission")
    page.wait_for_selector("#search-results ul.search li", timeout=15000)
    hits = page.inner_text("#search-results")
    assert "Clinical significance" in hits
    assert not errors


def test_headline_numbers_on_the_landing_page_equal_results_json(site, browser):
    base, _, results = site
    page, _ = open_page(browser, f"{base}/notebooks/introduction.html")
    text = re.sub(r"\s+", " ", page.inner_text("main"))
    for key, spec in (
        ("pre_mean", ".2f"),
        ("post_mean", ".2f"),
        ("mean_change", ".2f"),
        ("d_av", ".2f"),
        ("pct_remission", ".0f"),
        ("pct_clinically_significant", ".0f"),
    ):
        assert format(results[key], spec) in text, key
    assert f"{results['n_patients']} patients" in text


@pytest.mark.parametrize("name,width,height", [("desktop", 1280, 900), ("phone", 390, 844)])
def test_landing_page_screenshot_and_layout(site, browser, name, width, height):
    base, _, _ = site
    page, errors = open_page(browser, f"{base}/index.html", width, height)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"landing-{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Readable at this width: no sideways scrolling of the page itself.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than a {width}px screen"
    assert not errors


def test_dark_theme_keeps_text_legible(site, browser):
    base, _, _ = site
    page, _ = open_page(browser, f"{base}/notebooks/primary_outcome.html")
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    colours = page.evaluate("""() => {
        const s = getComputedStyle(document.querySelector('article p'));
        const b = getComputedStyle(document.body);
        return [s.color, b.backgroundColor];
    }""")
    fg, bg = ([int(x) for x in re.findall(r"\d+", c)[:3]] for c in colours)

    def luminance(rgb):
        lin = [(v / 255) / 12.92 if v <= 10 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted([luminance(fg), luminance(bg)], reverse=True)
    assert (hi + 0.05) / (lo + 0.05) >= 4.5, f"contrast of {colours} is below WCAG AA"


#: What a reader sees in a table cell: words, never a programming language's spelling of a value.
RAW_CELLS = {"True", "False", "nan", "NaN", "None", "<NA>", "NaT"}


@pytest.mark.parametrize("name,width,height", [("desktop", 1280, 900), ("phone", 390, 844)])
def test_tables_fit_and_no_page_scrolls_sideways(site, browser, name, width, height):
    base, html, _ = site
    ARTIFACTS.mkdir(exist_ok=True)
    for rel in chapter_urls(html):
        page, _ = open_page(browser, f"{base}/{rel}", width, height)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{rel} is {overflow}px wider than a {width}px screen"
        tables = page.evaluate("""() => {
            const column = document.querySelector('article.bd-article').getBoundingClientRect();
            return [...document.querySelectorAll('article table')].map(t => {
                const box = t.getBoundingClientRect();
                const first = t.querySelector('tbody td');
                return {
                    caption: (t.closest('figure')?.querySelector('.caption-text')?.textContent || t.className).slice(0, 60),
                    right: box.right - column.right, left: column.left - box.left,
                    cells: [...t.querySelectorAll('td, th')].map(c => c.textContent.trim()),
                    sticky: first ? getComputedStyle(first).position : null,
                    house: !!t.closest('.house-table'),
                    scrolls: !!t.closest('.house-table-scroll')
                        && t.closest('.house-table-scroll').scrollWidth > t.closest('.house-table-scroll').clientWidth + 1,
                    cue: !!t.closest('.house-table-frame[data-more]'),
                    font: getComputedStyle(t).fontFamily,
                    body: getComputedStyle(document.querySelector('article p')).fontFamily,
                };
            });
        }""")
        for table in tables:
            raw = RAW_CELLS & set(table["cells"])
            assert not raw, f"{rel}: {table['caption']}: cells reading {raw}"
            if width == 1280:
                assert table["right"] <= 1 and table["left"] <= 1, f"{rel}: {table['caption']} is wider than the text"
            elif table["house"]:
                # On a phone a table scrolls inside its box, its first column kept in view, and a shadow at the
                # edge says there is more.
                assert table["sticky"] == "sticky", f"{rel}: {table['caption']}"
                assert table["cue"] == table["scrolls"], f"{rel}: {table['caption']}: scrolls without a cue"
            if table["house"]:
                assert table["font"] == table["body"], f"{rel}: {table['caption']} is not set in the body's type"
        page.screenshot(path=str(ARTIFACTS / f"{rel.replace('/', '_')}-{name}.png"), full_page=True)
        page.close()


def test_the_code_behind_every_table_and_figure_is_one_click_away(site):
    from bs4 import BeautifulSoup

    _, html, _ = site
    checked = 0
    for rel in chapter_urls(html):
        page = html / rel
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        made_by_code = soup.select("figure.numbered-table") + [
            img.find_parent("figure") for img in soup.select(".cell_output img")
        ]
        for item in made_by_code:
            assert item is not None, f"{rel}: a figure drawn by code has no caption"
            links = [a["href"] for a in item.select('a[href$=".ipynb"]')]
            assert links, f"{rel}: {item.get_text(' ', strip=True)[:80]}"
            assert all((page.parent / link).resolve().is_file() for link in links), f"{rel}: {links}"
            checked += 1
    assert checked >= 20


#: The WCAG rule sets axe-core checks: 2.0, 2.1 and 2.2, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.mark.parametrize("book", ["site", "redcap_site"])
@pytest.mark.parametrize("width", [1280, 390])
def test_no_page_has_an_accessibility_fault(request, book, browser, width):
    """axe-core (the engine of most accessibility checkers) on every page, on a desktop and a phone, of the
    bundled book and of a clinic's (the REDCap example)."""
    from axe_playwright_python.sync_playwright import Axe

    url, html, _ = request.getfixturevalue(book)
    faults = {}
    for name in ["index.html", *chapter_urls(html), "book/own_data.html"]:
        page, _ = open_page(browser, f"{url}/{name}", width=width)
        found = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}).response["violations"]
        page.close()
        if found:
            faults[name] = [(rule["id"], len(rule["nodes"]), rule["nodes"][0]["html"][:120]) for rule in found]
    assert faults == {}
