"""A live preview: build into a private output folder, serve it on 127.0.0.1, rebuild on every save, reload the page.

Each rebuild is an ordinary :func:`ketamine_ptsd.engine.build.build` of that folder, so it keeps the engine's
guarantees (never stale, never mixed, nothing foreign replaced, one build at a time); what the preview adds
is kept outside the book. The pages are served as published, with one script added on the way out
(:data:`RELOAD_SCRIPT`): it listens to the preview's events, reloads the page after a good build and shows
the message of a failed one over the last good page until the next good build. Nothing is written into
``OUT/html``, so a preview folder is a book like any other and the published book and the PDF never carry it.

What stays warm between builds (:class:`~ketamine_ptsd.engine.warm.Warm`): the process that imports the
notebooks' libraries and forks their kernels, started anew when the interpreter, the lock file or a module of
the package changed; Sphinx, set up and waiting; and, as in every build, the render folder, where Sphinx
reads and writes only the pages that changed.

Files are watched with ``watchfiles`` (inotify through Rust's ``notify``), as ``sphinx-autobuild`` does.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from ketamine_ptsd.engine.build import build
from ketamine_ptsd.engine.output import HTML_DIRNAME
from ketamine_ptsd.engine.plan import Project
from ketamine_ptsd.engine.warm import Warm

#: URL prefix of what the preview adds; no page of the book lives under it.
PREFIX = "/__preview__/"

#: Added to every served page (never to the files): reloads after a good build (the browser keeps the scroll
#: position), and shows a failed build's message over the page until the next good one.
RELOAD_SCRIPT = """
(() => {
  const loaded = Number(document.currentScript.dataset.generation);
  let box = null;
  function show(message) {
    if (message === null) { if (box) { box.remove(); box = null; } return; }
    if (!box) {
      box = document.createElement("div");
      box.id = "preview-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:auto 1rem 1rem 1rem;max-height:60vh;overflow:auto;z-index:10000;" +
        "background:#fff4f4;color:#5c0000;border:2px solid #b00020;border-radius:6px;padding:1rem;" +
        "font:14px/1.4 monospace;white-space:pre-wrap;box-shadow:0 4px 16px rgba(0,0,0,.25)";
      document.body.appendChild(box);
    }
    box.textContent = "The last build failed; this is the last good page.\\n\\n" + message;
  }
  const events = new EventSource("__PREFIX__events");
  events.onmessage = (event) => {
    const state = JSON.parse(event.data);
    if (state.generation > loaded) {
      events.close();
      location.reload();
    } else {
      show(state.error);
    }
  };
})();
""".replace("__PREFIX__", PREFIX)

#: The query of an address that names its file's content: Sphinx's checksum ``?v=``, the theme's ``?digest=``.
CHECKSUMMED = re.compile(r"(?:^|&)(?:v|digest)=[0-9a-f]{8,}(?:&|$)")

#: The landing page's redirect to the book's first page (:data:`ketamine_ptsd.engine.render.REDIRECT`).
LANDING_REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([\w./-]+\.html)">')

#: Quiet time after a build before the spares for the next are started: the browser reloads first.
REFILL_AFTER_MS = 500

#: Served while no book has been built yet (the first build runs, or failed).
WAITING_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Preview: building</title></head>
<body><main><h1>Building the book ...</h1><p>This page reloads when the first build is done.</p></main></body></html>
"""


class _Status:
    """The preview's state as the pages see it: the number of the last good build, and the failure since."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0
        self.error: str | None = None
        self.closed = False

    def snapshot(self) -> dict:
        return {"generation": self.generation, "error": self.error}

    def update(self, *, built: bool, error: str | None) -> None:
        with self.condition:
            self.generation += built
            self.error = error
            self.condition.notify_all()

    def close(self) -> None:
        with self.condition:
            self.closed = True
            self.condition.notify_all()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The published book with the reload script added to each page, and the preview's event stream."""

    def __init__(self, *args, status: _Status, **kw):
        self.status = status
        super().__init__(*args, **kw)

    def log_message(self, *args) -> None:
        pass  # one line per request would bury the build's own

    def end_headers(self) -> None:
        # A style or script whose address carries its checksum (Sphinx's ``?v=``, the theme's ``?digest=``) is
        # a new address when it changes: kept by the browser, a reload does not wait to ask for it again.
        # Anything else is always asked again (a 304 when unchanged): a rebuilt page's images are never stale.
        if CHECKSUMMED.search(urlsplit(self.path).query):
            self.send_header("Cache-Control", "max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == PREFIX + "events":
            return self._events()
        if path == PREFIX + "reload.js":
            return self._send(RELOAD_SCRIPT.encode(), "text/javascript; charset=utf-8")
        target = Path(self.translate_path(self.path))
        if path.endswith("/"):
            target = target / "index.html"
        if target.suffix == ".html":
            try:
                page = target.read_text(encoding="utf-8")
            except FileNotFoundError:
                if path not in ("/", "/index.html"):
                    return self.send_error(404)
                page = WAITING_PAGE
            # The landing page only sends the browser on to the book's first page: said in the reply, the
            # browser goes there without loading it first.
            if path in ("/", "/index.html") and (found := LANDING_REDIRECT.search(page)):
                self.send_response(302)
                self.send_header("Location", "/" + found.group(1))
                self.send_header("Content-Length", "0")
                return self.end_headers()
            return self._send(self._with_script(page).encode(), "text/html; charset=utf-8")
        return super().do_GET()

    def _with_script(self, page: str) -> str:
        with self.status.condition:
            generation = self.status.generation
        tag = f'<script src="{PREFIX}reload.js" data-generation="{generation}"></script>'
        at = page.rfind("</body>")
        return page + tag if at < 0 else page[:at] + tag + page[at:]

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        """Server-sent events: the state now, then every change (and a comment now and then, so a closed
        page is noticed and its thread ends)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        status, sent = self.status, None
        try:
            while True:
                with status.condition:
                    status.condition.wait_for(lambda sent=sent: status.closed or status.snapshot() != sent, timeout=10)
                    if status.closed:
                        return
                    now = status.snapshot()
                if now != sent:
                    self.wfile.write(f"data: {json.dumps(now)}\n\n".encode())
                    sent = now
                else:
                    self.wfile.write(b": still here\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # an open event stream does not keep the preview from stopping


def _failure(exc: BaseException, project: Project | None) -> str:
    """A failed build's message as the command line would print it: a refused input as the project words it
    (every validation problem on its line)."""
    if project is not None and (message := project.failure_message(exc)) is not None:
        return message
    if isinstance(exc, RuntimeError | ValueError | OSError):  # the build's own failures, and the parameters'
        return str(exc) or type(exc).__name__
    # Anything else is a fault of the code: its traceback helps whoever reports it.
    return "".join(traceback.format_exception(exc))


class Sources:
    """What a build reads: ``paths``, folders (everything under them) and files. A file is watched through its
    folder: an editor that saves by writing a new file and renaming it over the old one replaces the file, and
    a watch on the file itself would end there."""

    def __init__(self, paths: Iterable[Path], out: Path):
        self.folders = {p.absolute() for p in paths if p.is_dir()}
        self.files = {p.absolute() for p in paths if not p.is_dir()}
        self.out = out
        watched = self.folders | {f.parent for f in self.files}
        # A folder inside another watched folder is watched through it.
        self.roots = sorted(f for f in watched if not any(o in f.parents for o in watched))

    def __contains__(self, path: str | Path) -> bool:
        path = Path(path)
        if path in self.files:
            return True
        if path == self.out or self.out in path.parents:
            return False  # the preview's own output, should it lie among the sources
        # Editors' swap and backup files, and bytecode, are not sources.
        if (
            path.name.startswith(".")
            or path.name.endswith(("~", ".swp", ".swx", ".pyc"))
            or "__pycache__" in path.parts
        ):
            return False
        return any(folder in path.parents for folder in self.folders)


class Preview:
    """``make_project`` gives the project as the sources now say (the parameter file is read again each
    time); ``sources`` are what a build reads: any change under a folder among them, or to a file among them,
    starts a rebuild. Built into ``out`` with ``jobs`` kernels, served on ``port`` (0: any free port).
    ``generation`` is the number of the last good build the open pages saw (from the process before a restart).
    """

    def __init__(
        self,
        make_project: Callable[[], Project],
        sources: list[Path],
        out: Path,
        port: int,
        echo: Callable[[str], None],
        jobs: int | None = None,
        generation: int = 0,
    ):
        self.make_project, self.out, self.echo, self.jobs = make_project, Path(out).absolute(), echo, jobs
        self.sources = Sources(sources, self.out)
        self.status = _Status()
        self.status.generation = generation
        handler = functools.partial(_Handler, directory=str(self.out / HTML_DIRNAME), status=self.status)
        self.server = _Server(("127.0.0.1", port), handler)
        self.warm: Warm | None = None
        self.root = Path.cwd()  # the project's folder, once a build has asked for the project

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def rebuild(self) -> None:
        """One build of ``out``; its outcome is told to the open pages."""
        started = time.perf_counter()
        project = None
        try:
            project = self.make_project()
            self.root = project.root
            if self.warm is None:
                package = Path(importlib.util.find_spec(project.package).origin).parent
                self.warm = Warm(package, project.lock_file)
            report = build(project, self.out, jobs=self.jobs, echo=self.echo, warm=self.warm)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the preview shows it and goes on
            message = _failure(exc, project)
            self.echo(f"preview: build failed ({time.perf_counter() - started:.1f} s); the last good book stays:")
            self.echo(message)
            self.status.update(built=False, error=message)
            return
        for warning in report.warnings:
            self.echo(f"warning: {warning}")
        self.echo(f"preview: built in {time.perf_counter() - started:.2f} s; {self.url}")
        self.status.update(built=report.rendered or self.status.generation == 0, error=None)

    def own_code(self) -> set[Path]:
        """The files this process runs that the sources may change: the package's modules it has imported (the
        build's own code, the project, validation) and the lock file (the libraries it imported)."""
        if self.warm is None:
            return set()
        files = {self.warm.lock_file}
        for module in list(sys.modules.values()):
            origin = getattr(module, "__file__", None)
            if origin and self.warm.package in Path(origin).parents:
                files.add(Path(origin))
        return files

    def run(self) -> bool:
        """Serve, build, and rebuild on every change until SIGINT or SIGTERM; then stop everything started.

        A change to the code this process runs (:meth:`own_code`) cannot be taken in by it: then it stops
        everything as well and returns True, for the caller to start the preview again in a new process (on
        the same port: the open pages reconnect by themselves).
        """
        import watchfiles

        # SIGTERM stops the preview as Ctrl-C does: the build in progress unwinds, stopping what it started.
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.echo(f"preview: serving {self.out / HTML_DIRNAME} at {self.url} (Ctrl-C stops)")
        try:
            self.rebuild()
            refill = True
            watcher = watchfiles.watch(
                *self.sources.roots,
                watch_filter=lambda change, path: path in self.sources,
                debounce=400,
                step=30,
                raise_interrupt=True,
                rust_timeout=REFILL_AFTER_MS,
                yield_on_timeout=True,
            )
            for changes in watcher:
                if not changes:
                    # Quiet since the last build (the browser has reloaded): the spares may start.
                    if refill and self.warm is not None:
                        self.warm.refill()
                    refill = False
                    continue
                names = sorted({os.path.relpath(p, self.root) for _, p in changes})
                self.echo(f"preview: changed: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}")
                if self.own_code() & {Path(p) for _, p in changes}:
                    self.echo("preview: code the preview itself runs changed: starting it again")
                    return True
                self.rebuild()
                refill = True
        except KeyboardInterrupt:
            self.echo("preview: stopping")
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.close(thread)
        return False

    def close(self, thread: threading.Thread | None = None) -> None:
        self.status.close()
        self.server.shutdown()
        self.server.server_close()
        if thread is not None:
            thread.join()
        if self.warm is not None:
            self.warm.close()
