"""``ketamine-ptsd preview``: the pages as served, what stays warm between builds, and the preview as an author
runs it (real processes: a copy of the repository edited while the preview watches it, then SIGTERM)."""

import fcntl
import functools
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.data.validate import Problem, ValidationFailed
from ketamine_ptsd.engine import preview, render, warm
from ketamine_ptsd.project import KetaminePtsd

from .helpers import CLI

# --- the server, in this process ------------------------------------------------------------------------


@pytest.fixture()
def served(tmp_path):
    """A published-looking book served by the preview's handler: (base URL, html folder, status)."""
    html = tmp_path / "html"
    (html / "notebooks").mkdir(parents=True)
    (html / "notebooks" / "cohort.html").write_text("<html><body><p>The cohort</p></body></html>")
    (html / "style.css").write_text("p { color: black; }")
    status = preview._Status()
    handler = functools.partial(preview._Handler, directory=str(html), status=status)
    server = preview._Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", html, status
    status.close()
    server.shutdown()
    server.server_close()


def get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, "", {}


def test_a_served_page_carries_the_reload_script_and_the_file_does_not(served):
    base, html, status = served
    status.update(built=True, error=None)
    code, page, headers = get(f"{base}/notebooks/cohort.html")
    assert code == 200
    assert page == (
        '<html><body><p>The cohort</p><script src="/__preview__/reload.js" data-generation="1"></script></body></html>'
    )
    assert headers["Cache-Control"] == "no-cache"
    assert "__preview__" not in (html / "notebooks" / "cohort.html").read_text()
    assert get(f"{base}/style.css")[1] == "p { color: black; }"
    code, script, headers = get(f"{base}/__preview__/reload.js")
    assert code == 200 and "EventSource" in script and headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("?v=03e43079", True),  # Sphinx's checksum of the file
        ("?digest=55c26ed414f5f8a31ebb", True),  # the theme's
        ("?a=1&v=03e43079", True),
        ("", False),
        ("?v=1", False),  # not a checksum
        ("?version=03e43079", False),
        ("?v=03e43079x", False),
    ],
)
def test_only_an_address_naming_its_content_is_kept_by_the_browser(served, query, kept):
    base, _, _ = served
    code, _, headers = get(f"{base}/style.css{query}")
    assert code == 200
    assert headers["Cache-Control"] == ("max-age=31536000, immutable" if kept else "no-cache")


def test_the_landing_page_is_a_redirect_said_in_the_reply(served):
    """The book's index.html only sends the browser on (a meta refresh, for static hosting); the preview says
    so in its reply, and the published file keeps its own redirect."""
    base, html, _ = served
    landing = render.REDIRECT.format(target="notebooks/cohort.html")
    (html / "index.html").write_text(landing, encoding="utf-8")
    for path in ("/", "/index.html"):
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
        connection.request("GET", path)
        reply = connection.getresponse()
        assert (reply.status, reply.getheader("Location"), reply.read()) == (302, "/notebooks/cohort.html", b"")
        connection.close()
    with urllib.request.urlopen(f"{base}/", timeout=10) as response:
        assert response.url.endswith("/notebooks/cohort.html") and "The cohort" in response.read().decode()
    assert (html / "index.html").read_text(encoding="utf-8") == landing


def test_before_the_first_book_the_landing_page_says_it_is_building(served):
    base, html, _ = served
    shutil.rmtree(html)
    code, page, _ = get(f"{base}/")
    assert code == 200 and "Building the book" in page and "reload.js" in page
    assert get(f"{base}/notebooks/cohort.html")[0] == 404


def test_the_event_stream_tells_each_build_and_failure(served):
    base, _, status = served
    with urllib.request.urlopen(f"{base}/__preview__/events", timeout=10) as stream:

        def event() -> dict:
            line = stream.readline().decode()
            while not line.startswith("data: "):
                line = stream.readline().decode()
            return json.loads(line[len("data: ") :])

        assert event() == {"generation": 0, "error": None}
        status.update(built=False, error="data.csv: row 3: column pcl5_pre: out of range (99)")
        assert event() == {"generation": 0, "error": "data.csv: row 3: column pcl5_pre: out of range (99)"}
        status.update(built=True, error=None)
        assert event() == {"generation": 1, "error": None}


def test_invalid_data_is_shown_as_validate_prints_it():
    problems = [Problem("data.csv", row, "pcl5_pre", "out of range", value) for row, value in ((3, 99), (7, 120))]
    # The project words its refused input; the engine shows any other failure as it is.
    message = preview._failure(ValidationFailed(problems), KetaminePtsd(paths.BUNDLED_COHORT))
    assert "data.csv: column pcl5_pre: out of range: 2 rows: 3 (99), 7 (120)" in message
    assert message.endswith("2 problem(s) found in the data.")


def test_a_fault_of_the_code_is_shown_with_its_traceback():
    try:
        {}["missing"]
    except KeyError as exc:
        message = preview._failure(exc, KetaminePtsd(paths.BUNDLED_COHORT))
    assert "Traceback" in message and "KeyError: 'missing'" in message


def test_sources_are_the_folders_and_files_a_build_reads(tmp_path):
    (tmp_path / "notebooks").mkdir()
    data = tmp_path / "elsewhere" / "cohort.csv"
    data.parent.mkdir()
    data.write_text("x")
    out = tmp_path / "notebooks" / "_preview"
    sources = preview.Sources([tmp_path / "notebooks", data], out)
    assert sources.roots == [tmp_path / "elsewhere", tmp_path / "notebooks"]
    assert tmp_path / "notebooks" / "cohort.md" in sources
    assert data in sources
    assert tmp_path / "elsewhere" / "other.csv" not in sources  # only the file, not its neighbours
    assert out / "html" / "index.html" not in sources
    for junk in (".cohort.md.swp", "cohort.md~", "__pycache__/x.cpython-311.pyc"):
        assert tmp_path / "notebooks" / junk not in sources


# --- what stays warm, with stand-ins for the processes ---------------------------------------------------


class FakeProcess:
    started: list["FakeProcess"] = []

    def __init__(self, *args):
        self.args, self.alive = args, True
        FakeProcess.started.append(self)

    def poll(self):
        return None if self.alive else 0

    def close(self):
        self.alive = False

    kill = close

    def communicate(self):
        return "", ""


@pytest.fixture()
def fake(monkeypatch, tmp_path):
    FakeProcess.started = []
    monkeypatch.setattr(warm, "Zygote", FakeProcess)
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text("x = 1\n")
    lock = tmp_path / "requirements.lock"
    lock.write_text("pandas==2\n")
    return warm.Warm(package, lock), package, lock


def test_a_spare_zygote_is_handed_over_while_its_imports_hold(fake):
    keeper, package, lock = fake
    args = (["pandas"], Path("/root"), [Path("/out")])
    first = keeper.zygote(*args)
    assert FakeProcess.started == [first]
    keeper.refill()
    spare = FakeProcess.started[-1]
    assert keeper.zygote(*args) is spare and spare.alive
    for changed in (package / "mod.py", lock):
        keeper.refill()
        stale = FakeProcess.started[-1]
        changed.write_text(changed.read_text() + "# changed\n")
        fresh = keeper.zygote(*args)
        assert fresh is not stale and not stale.alive, changed.name
    keeper.refill()
    spare = FakeProcess.started[-1]
    assert keeper.zygote(["pandas"], Path("/root"), [Path("/other-out")]) is not spare and not spare.alive


def test_a_spare_render_process_is_used_only_on_the_folder_it_set_up_on(fake):
    keeper, _, _ = fake
    folder = {"key": "published-1"}
    launch = lambda spare=False: FakeProcess("render", spare)  # noqa: E731
    first = keeper.render_process(None, lambda: folder["key"], launch)
    keeper.refill()
    spare = FakeProcess.started[-1]
    assert spare is not first and spare.args == ("render", True) and first.args == ("render", False)
    assert keeper.render_process("published-1", lambda: folder["key"], launch) is spare
    keeper.refill()
    spare = FakeProcess.started[-1]
    # A render that failed (or a changed bibliography) leaves another key: the spare is not used.
    fresh = keeper.render_process("published-2", lambda: folder["key"], launch)
    assert fresh is not spare and not spare.alive
    folder["key"] = None  # not published as it is: no spare is started
    keeper.refill()
    assert FakeProcess.started[-1] is fresh
    keeper.close()


# --- the preview as an author runs it --------------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    import psutil

    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def alive(pids: set[int]) -> set[int]:
    import psutil

    return {p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}


def unlocked(out: Path) -> bool:
    """Whether a build could lock ``out`` now."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


class Running:
    """``ketamine-ptsd preview`` on a copy of the repository, its output read as it comes."""

    def __init__(self, tmp: Path, *args):
        self.repo = tmp / "repo"
        shutil.copytree(
            paths.REPO,
            self.repo,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "_build", "test-artifacts", "__pycache__", ".pytest_cache", ".hypothesis", "cache"
            ),
        )
        self.out = tmp / "preview"
        self.log = tmp / "preview.log"
        self.seen: set[int] = set()
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [*CLI, "preview", "--out", str(self.out), "--port", "0", *map(str, args)],
                cwd=self.repo,
                env={**os.environ, "PYTHONPATH": str(self.repo / "src")},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = self.wait_for(r"at (http://127\.0\.0\.1:\d+/)").group(1)

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str, after: int = 0, timeout: float = 600) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.seen |= descendants(self.process.pid)
            found = re.search(pattern, self.text()[after:])
            if found:
                return found
            assert self.process.poll() is None, f"the preview exited:\n{self.text()}"
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in:\n{self.text()}")

    def state(self) -> dict:
        with urllib.request.urlopen(self.url + "__preview__/events", timeout=10) as stream:
            line = stream.readline().decode()
            return json.loads(line[len("data: ") :])

    def change(self, path: Path, text: str, outcome: str) -> dict:
        """Write ``text`` to ``path`` and wait for the build it starts to end in ``outcome`` (a log pattern)."""
        mark = len(self.text())
        path.write_text(text)
        self.wait_for(outcome, after=mark)
        return self.state()

    def stop(self) -> float:
        """SIGTERM, as a service manager (or `kill`) sends it; how long the preview took to exit."""
        self.seen |= descendants(self.process.pid)
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=60) == 0, self.text()
        return time.monotonic() - started


def assert_nothing_left(running: Running) -> None:
    assert running.seen, "the preview started no process: the check below would prove nothing"
    deadline = time.monotonic() + 10
    while alive(running.seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(running.seen), f"left running: {alive(running.seen)}"
    assert unlocked(running.out)


@pytest.mark.spawns
@pytest.mark.pipeline
def test_the_preview_shows_failures_on_the_last_good_page_and_stops_cleanly(tmp_path):
    """One author's session: a first build; a notebook that raises, data that break the contract, each shown
    by cell or row on the open page while the last good page stays; an edit that is served; then SIGTERM,
    which leaves no process and no lock behind, and a book without the preview's script."""
    data = tmp_path / "cohort.csv"
    shutil.copyfile(paths.BUNDLED_COHORT, data)
    running = Running(tmp_path, "--data", data)
    try:
        running.wait_for(r"preview: built in")
        assert running.state() == {"generation": 1, "error": None}
        good = urllib.request.urlopen(running.url + "notebooks/cohort.html").read().decode()
        assert 'data-generation="1"' in good

        chapter = running.repo / "notebooks" / "cohort.md"
        source = chapter.read_text()
        planted = source + '\n```{code-cell} ipython3\nraise ValueError("planted failure")\n```\n'
        state = running.change(chapter, planted, r"preview: build failed")
        assert re.search(r"notebook cohort failed in cell \d+ of \d+ \(`raise ValueError", state["error"]), state
        assert "ValueError: planted failure" in state["error"]
        assert state["generation"] == 1
        assert urllib.request.urlopen(running.url + "notebooks/cohort.html").read().decode() == good

        state = running.change(chapter, source, r"preview: built in")
        assert state == {"generation": 1, "error": None}  # the same sources as the good book: nothing to render

        rows = data.read_text().splitlines()
        rows[2] = re.sub(r"^([^,]+),\d+,", r"\1,99,", rows[2])  # line 3 of the file: pcl5_pre out of range
        state = running.change(data, "\n".join(rows) + "\n", r"preview: build failed")
        assert re.search(r"cohort\.csv: row 3: column pcl5_pre: .*\(99\)", state["error"]), state
        assert state["error"].endswith("1 problem(s) found in the data.")
        shutil.copyfile(paths.BUNDLED_COHORT, data)
        running.wait_for(r"preview: built in", after=running.text().rindex("build failed"))

        edited = source.replace("# The cohort", "# The cohort, as previewed", 1)
        state = running.change(chapter, edited, r"preview: built in")
        assert state == {"generation": 2, "error": None}
        assert (
            "The cohort, as previewed" in urllib.request.urlopen(running.url + "notebooks/cohort.html").read().decode()
        )

        # The preview's own code cannot be reloaded in place: it starts again (the same process, exec'd), on
        # the same port, and the open pages keep their build's number.
        own = running.repo / "src" / "ketamine_ptsd" / "engine" / "preview.py"
        mark = len(running.text())
        own.write_text(own.read_text() + "# edited while previewing\n")
        running.wait_for(r"starting it again[\s\S]*serving .* at " + re.escape(running.url), after=mark)
        running.wait_for(r"preview: built in", after=mark)
        assert running.process.poll() is None
        assert running.state() == {"generation": 2, "error": None}
        time.sleep(preview.REFILL_AFTER_MS / 1000 + 1)  # the spares for the next build have started
    finally:
        seconds = running.stop()
    assert seconds < 15, running.text()
    assert_nothing_left(running)
    published = running.out / "html"
    assert not [p for p in published.rglob("*.html") if "__preview__" in p.read_text(encoding="utf-8")]


@pytest.mark.spawns
@pytest.mark.pipeline
def test_sigterm_during_a_build_stops_its_kernels_and_publishes_nothing(tmp_path):
    (tmp_path / "preview").mkdir()  # there before the build, so it stays after it, and its lock can be tried
    running = Running(tmp_path)
    try:
        running.wait_for(r"execute: \w+: [\d.]+ s")  # a notebook has run: kernels are at work
    finally:
        seconds = running.stop()
    assert seconds < 15, running.text()
    assert_nothing_left(running)
    assert not (running.out / "html").exists()
    assert "preview: stopping" in running.text()


@pytest.mark.browser
@pytest.mark.spawns
def test_in_chromium_a_failure_shows_over_the_page_and_a_good_build_reloads_it_where_it_was(served):
    from ketamine_ptsd.engine.pdf import CHROMIUM_ARGS, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed; install it with: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    base, html, status = served
    tall = "<html><body><p>The cohort</p><div style='height:5000px'></div><p>end</p></body></html>"
    (html / "notebooks" / "cohort.html").write_text(tall)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/notebooks/cohort.html")
        page.evaluate("window.scrollTo(0, 1200); window.notReloaded = true")
        status.update(built=False, error="notebook cohort failed in cell 3 of 9 (`x = 1/0`): ZeroDivisionError")
        alert = page.wait_for_selector("#preview-error[role=alert]", timeout=10_000)
        assert "cell 3 of 9" in alert.inner_text() and "last good page" in alert.inner_text()
        assert page.evaluate("window.notReloaded") is True  # shown over the page, not by reloading it
        (html / "notebooks" / "cohort.html").write_text(tall.replace("The cohort", "The cohort, rebuilt"))
        status.update(built=True, error=None)
        page.wait_for_function("document.body.innerText.includes('The cohort, rebuilt')", timeout=10_000)
        page.wait_for_function("window.scrollY === 1200", timeout=10_000)
        assert page.query_selector("#preview-error") is None
        browser.close()
