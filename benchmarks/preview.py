"""Preview benchmark: from saving a file to the reloaded page showing the change, in a real browser.

In a copy of the repository (nothing here is edited), it:
  1. builds the book once with ``ketamine-ptsd build`` into a new folder (a clean build's time);
  2. starts ``ketamine-ptsd preview`` on another new folder with ``--params`` and opens the served book in
     headless Chromium (Debian's, as the browser tests and the PDF use it): the time from starting the
     preview to its first book being ready to serve (its log says so) and to the first page of the book shown
     (the browser's first load of a page and its styles included), against the clean build's;
  3. times ``--repeat`` saves of each kind, from just before the file is written to the moment the page
     open in the browser shows the change (the reloaded document's ``DOMContentLoaded``): a prose edit in a
     notebook chapter, a code-cell edit in the same chapter, a new ``mcid`` in the parameter file, and a prose
     edit in a page that is not a notebook (``book/own_data.md``). Each save waits for the preview to be idle and its spares ready
     (``--pause`` seconds), as an author's next save would come after reading the page.

For each save it prints the total, the preview's own build time (its log's ``built in``), when each phase of
the rebuild ended after the save (the preview noticed it, planned, executed, rendered, published; the rest is
the browser's reload) and the notebooks it executed; and per kind the median, with the median of the executed
notebooks' times (as the build reported them, wall time on a warm kernel) divided by the cores: executing them
takes at least that with every core busy, before anything is rendered. Targets (issue 23): prose edit
<= 1.0 s, code-cell edit <= 2.0 s, new mcid <= 3.0 s, first page within one clean build's time.

Run: ``.venv/bin/python benchmarks/preview.py [--repeat 5] [--pause 6] [--only prose]`` (needs: apt-get install
chromium).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ketamine_ptsd import paths
from ketamine_ptsd.engine.pdf import CHROMIUM_ARGS, find_chromium

#: New values of mcid, one per save (not 15: the chapter says "a drop of at least 15 points" of another measure).
MCIDS = (11, 12, 13, 14, 16, 17, 18, 19, 21, 22)
COPY_IGNORED = (".git", ".venv", "_build", "test-artifacts", "__pycache__", ".pytest_cache", ".hypothesis", "cache")


def chromium_page(chromium: str):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    return pw, browser, browser.new_page(viewport={"width": 1280, "height": 900})


def shows(page, text: str) -> bool:
    try:
        return text in page.evaluate("document.body ? document.body.innerText : ''")
    except Exception:  # noqa: BLE001 - the page is being replaced by its reload
        return False


def wait_for_text(page, text: str, timeout: float = 300) -> float:
    """Wait until a page loaded into ``page`` shows ``text``; the time its document was loaded (its
    ``DOMContentLoaded``). Waits on the browser's events rather than asking the page every few milliseconds:
    asking costs the browser, its driver and this process CPU that the preview's build needs (on two cores
    a 10 ms poll added 1.5 s to a first build)."""
    loaded: list[float] = []
    listener = lambda _: loaded.append(time.perf_counter())  # noqa: E731 - stamped as the event arrives
    page.on("domcontentloaded", listener)
    try:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            page.wait_for_timeout(50)  # runs the driver's event loop, which stamps each load as it comes
            if loaded and shows(page, text):
                return loaded[-1]
        raise TimeoutError(f"{page.url} never showed {text!r}")
    finally:
        page.remove_listener("domcontentloaded", listener)


class Log(threading.Thread):
    """The preview's output, each line stamped with the moment it appeared (read every 5 ms)."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.lines, self.stopped = path, [], threading.Event()
        self.start()

    def run(self) -> None:
        with open(self.path, encoding="utf-8", errors="replace") as stream:
            partial = ""
            while not self.stopped.is_set():
                chunk = stream.read()
                now = time.perf_counter()
                partial += chunk
                *complete, partial = partial.split("\n")
                self.lines += [(now, line) for line in complete]
                time.sleep(0.005)

    def since(self, moment: float) -> list[tuple[float, str]]:
        return [(t, line) for t, line in self.lines if t >= moment]


#: Lines of the preview's log that mark the phases of a rebuild, and their names in the timeline.
PHASES = (
    (r"^preview: changed", "noticed"),
    (r"^validate:", "planned"),
    (r"^execute: \w+: [\d.]+ s", "executed"),
    (r"^render:", "rendered"),
    (r"^published:", "published"),
)


def timeline(lines: list[tuple[float, str]], saved: float) -> str:
    """When each phase ended, in seconds after the save (the last line of each kind)."""
    marks = {}
    for moment, line in lines:
        for pattern, name in PHASES:
            if re.search(pattern, line):
                marks[name] = moment - saved
    return ", ".join(f"{name} {marks[name]:.2f}" for _, name in PHASES if name in marks)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r} found {text.count(old)} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="saves of each kind (default 5)")
    parser.add_argument("--pause", type=float, default=6.0, help="seconds of quiet before each save (default 6)")
    parser.add_argument("--only", default="", help="only the kinds of save whose name contains this (e.g. prose)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each line as it is measured, also into a file
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped, it still stops the preview and cleans up
    chromium = find_chromium()
    if chromium is None:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="kp-preview-bench-"))
    repo = work / "repo"
    shutil.copytree(paths.REPO, repo, ignore=shutil.ignore_patterns(*COPY_IGNORED))
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    cli = [sys.executable, "-m", "ketamine_ptsd.cli"]
    params = work / "parameters.yml"
    params.write_text("mcid: 10\n", encoding="utf-8")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; copy in {repo}")

    started = time.perf_counter()
    subprocess.run([*cli, "build", "--out", work / "clean"], cwd=repo, env=env, check=True, capture_output=True)
    clean = time.perf_counter() - started
    print(f"clean build (ketamine-ptsd build): {clean:.1f} s")

    pw, browser, page = chromium_page(chromium)
    log_path = work / "preview.log"
    with open(log_path, "w") as log_file:
        started = time.perf_counter()
        preview = subprocess.Popen(
            [*cli, "preview", "--out", work / "preview", "--port", "0", "--params", params],
            cwd=repo,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log = Log(log_path)
    try:
        url = None
        while url is None:
            if preview.poll() is not None:
                raise RuntimeError(f"the preview exited:\n{log_path.read_text()}")
            found = re.search(r"at (http://127\.0\.0\.1:\d+/)", log_path.read_text())
            url = found and found.group(1)
            time.sleep(0.05)
        page.goto(url)
        # The waiting page reloads itself once the first build is out, onto the book's landing page.
        first = wait_for_text(page, "a reproducible re-analysis", timeout=max(120, 5 * clean)) - started
        # When the preview said its first book was out: from then on every page is served from it.
        served = next(t for t, line in log.lines if line.startswith("preview: built in")) - started
        print(
            f"first page of the book shown: {first:.1f} s after starting the preview, the book ready to serve at "
            f"{served:.1f} s (clean build {clean:.1f} s)"
        )

        chapter = repo / "notebooks" / "cohort.md"
        own_data = repo / "book" / "own_data.md"
        prose_anchor = "Every characteristic is given for all patients"
        code_anchor = "prose.data_origin_note(data_origin)\n"
        own_anchor = "rebuilt on another cohort file"
        kinds = {
            "prose edit, notebook chapter (cohort)": (
                "notebooks/cohort.html",
                lambda k: edit(
                    chapter,
                    prose_anchor if k == 0 else f"Every ({k - 1}x) characteristic",
                    f"Every ({k}x) characteristic",
                ),
                lambda k: f"Every ({k}x) characteristic",
            ),
            "code-cell edit, notebook chapter (cohort)": (
                "notebooks/cohort.html",
                lambda k: edit(
                    chapter,
                    code_anchor if k == 0 else f'print("code edit {k - 1}")\n',
                    (code_anchor if k == 0 else "") + f'print("code edit {k}")\n',
                ),
                lambda k: f"code edit {k}",
            ),
            "new mcid in the parameter file": (
                "notebooks/clinical_significance.html",
                lambda k: params.write_text(f"mcid: {MCIDS[k]}\n", encoding="utf-8"),
                lambda k: f"a drop of at least {MCIDS[k]} points",
            ),
            "prose edit, page that is not a notebook (own_data)": (
                "book/own_data.html",
                lambda k: edit(own_data, own_anchor if k == 0 else f"{own_anchor}-{k - 1}", f"{own_anchor}-{k}"),
                lambda k: f"{own_anchor}-{k}",
            ),
        }
        medians = {}
        for kind, (where, save, expect) in kinds.items():
            if args.only not in kind:
                continue
            page.goto(url + where)
            page.wait_for_load_state("load")
            print(f"\n{kind} ({where}):")
            totals, floors = [], []
            for k in range(args.repeat):
                time.sleep(args.pause)
                if shows(page, expect(k)):
                    raise RuntimeError(f"{where} shows {expect(k)!r} before the save: it would time nothing")
                saved = time.perf_counter()
                save(k)
                total = wait_for_text(page, expect(k)) - saved
                time.sleep(0.2)
                lines = log.since(saved)
                text = "\n".join(line for _, line in lines)
                built = [float(x) for x in re.findall(r"built in ([\d.]+) s", text)]
                notebooks = re.findall(r"execute: (\w+): ([\d.]+) s", text)
                totals.append(total)
                # The notebooks' time spread over every core: executing them takes at least that.
                floors.append(sum(float(t) for _, t in notebooks) / (os.cpu_count() or 1))
                print(
                    f"  save {k + 1}: {total:.2f} s to the page showing it (build {built[-1] if built else '-'} s; "
                    f"after the save: {timeline(lines, saved)}; executed: "
                    f"{', '.join(f'{n} {t} s' for n, t in notebooks) or 'none'})"
                )
            medians[kind] = statistics.median(totals), statistics.median(floors)
        print("\nmedians:")
        for kind, (median, floor) in medians.items():
            print(
                f"  {kind}: {median:.2f} s"
                + (f" (its notebooks' execution alone on {os.cpu_count()} cores: {floor:.2f} s)" if floor else "")
            )
        print(f"  first page: shown {first:.1f} s, ready to serve {served:.1f} s (clean build: {clean:.1f} s)")
    finally:
        log.stopped.set()
        os.killpg(preview.pid, signal.SIGTERM)
        preview.wait(timeout=60)
        browser.close()
        pw.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
