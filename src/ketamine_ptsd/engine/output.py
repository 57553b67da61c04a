"""The output folder ``OUT``: one build at a time, and nothing replaced that the build did not make.

A build holds an OS lock (``flock``) on ``OUT`` itself from start to end, so a second build of the same folder
waits (or, asked not to, gives up at once) instead of sharing ``OUT/.state`` and publishing a mixed book.
What only reads the book (``publish``) holds it shared (:func:`reading`): it waits for a running build, and
a build waits for it. The lock is the kernel's: it goes with the process, however the process ends.

What a build publishes (``html/``, ``results.json`` and the project's other files) it marks: ``html/`` holds
:data:`MARK`, which names every published file with its SHA-256. Before touching anything, a build checks
that each of them in ``OUT`` is the one it made; a folder or file it did not make is refused, whole.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

#: A build's output folder: the book, its results, and the build's own state (never published).
HTML_DIRNAME = "html"
RESULTS_FILENAME = "results.json"
STATE_DIRNAME = ".state"


#: Inside every folder the build makes in OUT (``html/``, ``failed/``): says that the build made it, and in
#: ``html/`` which files were published with it.
MARK = ".made-by-build.json"
FAILED_DIRNAME = "failed"
#: Where ``failed/`` is made and marked before it is renamed into ``OUT``.
FAILED_MAKING = "failed.new"
#: In ``OUT/.state`` of every finished build, marked or from before the marks.
LEGACY_STATE = "render.key"


#: Faults of the machine a build can meet while writing, in words, with what the user can do about each.
MACHINE_FAULTS = {
    errno.ENOSPC: ("no space left on device", "free some space and build again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space and build again"),
    errno.EACCES: ("permission denied", "make it writable, or choose another --out, and build again"),
    errno.EPERM: ("permission denied", "make it writable, or choose another --out, and build again"),
    errno.EROFS: ("read-only file system", "choose another --out and build again"),
}
#: Below this much free space, a build that failed without saying why failed for want of it.
NEARLY_FULL = 4 << 20


def machine_fault(exc: BaseException, out: Path) -> str | None:
    """The fault of the machine behind ``exc`` (a full disk, a folder it may not write), as one plain line
    naming the path and what to do; None for any other failure.

    Kernels and the render run in other processes, whose errors arrive as text: ``[Errno N]`` in it counts.
    A failure that says nothing, with the disk nearly full, is taken for a full disk.
    """
    seen, found = exc, None
    while seen is not None and found is None:
        if isinstance(seen, OSError) and seen.errno in MACHINE_FAULTS:
            found = (seen.errno, seen.filename2 or seen.filename)  # a copy names its source first
        else:
            code = next((c for c in MACHINE_FAULTS if f"[Errno {c}]" in str(seen)), None)
            found = (code, None) if code is not None else None
        seen = seen.__cause__ or seen.__context__
    if found is None:
        existing = next((p for p in (out, *out.parents) if p.exists()), Path("/"))
        if shutil.disk_usage(existing).free >= NEARLY_FULL:
            return None
        found = (errno.ENOSPC, None)
    what, todo = MACHINE_FAULTS[found[0]]
    return f"{what} while writing {found[1] or out}: {todo}; the last good book is unchanged"


class OutputBusy(RuntimeError):
    """Another build holds the output folder, and the caller asked not to wait."""


class NotMadeByBuild(RuntimeError):
    """The output folder holds a published name (``html/``, ``results.json``, ...) the build did not make."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mark(folder: Path, made_by: str, files: dict[str, str] | None = None) -> None:
    """Mark ``folder`` as made by the build (``files``: published file names and their SHA-256). Written
    beside and renamed over the mark, so a write that fails (a full disk) leaves the old mark whole."""
    tmp = folder / (MARK + ".tmp")
    tmp.write_text(json.dumps({"made_by": made_by, "files": files or {}}, indent=1) + "\n")
    os.replace(tmp, folder / MARK)


def _marked(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _flock(fd: int, mode: int, busy: Callable[[], None]) -> None:
    """Lock ``fd`` (``fcntl.LOCK_EX`` or ``LOCK_SH``); if another process holds it, call ``busy`` (which
    says so, or raises not to wait), then wait for it."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        busy()
        fcntl.flock(fd, mode)


@contextlib.contextmanager
def reading(out: Path, echo: Callable[[str], None]) -> Iterator[None]:
    """Hold ``out`` as it is, for reading its book: waits (saying so) for a build of it to end, and keeps
    builds from starting until the block ends. A folder that does not exist is not made."""
    try:
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        yield
        return
    try:
        _flock(fd, fcntl.LOCK_SH, lambda: echo(f"waiting for the build of {out} to finish ..."))
        yield
    finally:
        os.close(fd)


class OutputFolder:
    """``OUT``, locked for one build: ``with OutputFolder(out, ...) as folder:`` waits for the lock (saying so
    through ``echo``), or raises :class:`OutputBusy` at once when ``wait`` is false; then checks that everything
    it could replace is its own, or raises :class:`NotMadeByBuild` having touched nothing."""

    def __init__(self, out: Path, made_by: str, published: list[str], wait: bool, echo: Callable[[str], None]):
        self.out, self.made_by, self.published = out, made_by, published
        self.wait, self.echo = wait, echo
        self.html = out / HTML_DIRNAME
        self.failed = out / FAILED_DIRNAME
        self.state = out / STATE_DIRNAME

    def __enter__(self) -> OutputFolder:
        while True:
            self.created = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.out, os.O_RDONLY | os.O_DIRECTORY)
            try:
                self._lock()
                if os.fstat(self.fd).st_ino == os.stat(self.out).st_ino:
                    break
            except FileNotFoundError:
                pass
            except BaseException:
                os.close(self.fd)
                raise
            os.close(self.fd)  # the build that held it removed the folder: lock the one there now
        try:
            self._check_ownership()
        except BaseException:
            os.close(self.fd)
            raise
        # What an earlier build left half made (a disk that filled up, a kill) is the build's own: cleared.
        shutil.rmtree(self.state / FAILED_MAKING, ignore_errors=True)
        return self

    def _lock(self) -> None:
        def busy() -> None:
            if not self.wait:
                raise OutputBusy(f"another build of {self.out} is running; not waiting for it (--no-wait)") from None
            self.echo(f"waiting for the other build of {self.out} to finish ...")

        _flock(self.fd, fcntl.LOCK_EX, busy)

    def __exit__(self, exc_type, *exc) -> None:
        # A build that made OUT and then failed before publishing (invalid data, say) leaves no trace of it,
        # unless it kept failed notebooks there for the user to read.
        if exc_type is not None and self.created and not self.failed.exists() and not self.html.exists():
            shutil.rmtree(self.out, ignore_errors=True)
        os.close(self.fd)  # releases the lock

    def _check_ownership(self) -> None:
        def refuse(what: Path) -> None:
            raise NotMadeByBuild(
                f"{what} was not made by {self.made_by} build; it would be replaced: move it away or choose "
                "another --out (nothing was changed)"
            )

        if self.failed.exists() and _marked(self.failed) is None:
            # What an earlier version of the build left when the disk filled between making failed/ and
            # marking it: an empty folder, or one holding only its cut mark. Nothing of the user's is in it.
            if {p.name for p in self.failed.iterdir()} <= {MARK, MARK + ".tmp"}:
                shutil.rmtree(self.failed)
            else:
                refuse(self.failed)
        if self.html.exists():
            made = _marked(self.html)
            if made is None and (self.state / LEGACY_STATE).is_file():
                # A folder built before the marks existed: its state shows the build made it.
                made = {"files": {n: sha256_file(self.out / n) for n in self.published if (self.out / n).is_file()}}
            if made is None:
                refuse(self.html)
        else:
            made = {"files": {}}
        self.made = made["files"]
        for name in self.published:
            path = self.out / name
            if path.exists() and (not path.is_file() or not self.owns(name)):
                refuse(path)

    def owns(self, name: str) -> bool:
        """Whether ``OUT/name`` is the file the build published under that name."""
        path = self.out / name
        return path.is_file() and self.made.get(name) == sha256_file(path)

    def record(self, name: str) -> None:
        """Mark ``OUT/name``, just written by the build beside the published book, as the build's own."""
        self.made[name] = sha256_file(self.out / name)
        mark(self.html, self.made_by, self.made)

    def failed_dir(self) -> Path:
        """``OUT/failed``, for the executed copies of failed notebooks (made and marked on first use).

        It is made and marked inside ``OUT/.state`` and renamed into place whole, so a disk that fills up
        between the two never leaves an unmarked ``failed/`` that the next build would have to refuse; what a
        failed attempt leaves in ``.state`` is the build's own and cleared by the next one.
        """
        if not self.failed.exists():
            making = self.state / FAILED_MAKING
            shutil.rmtree(making, ignore_errors=True)
            making.mkdir(parents=True)
            mark(making, self.made_by)
            os.rename(making, self.failed)
        return self.failed

    def publish(self, new_html: Path, files: dict[str, bytes]) -> None:
        """Swap the new book and ``files`` (name: content) in for the old ones, as late and as quickly as
        possible; then forget the executed copies of an earlier failed build, which this book replaces."""
        staged = {}
        for name, content in files.items():
            staged[name] = self.state / f"{name}.tmp"
            staged[name].write_bytes(content)
        # Files made beside an earlier book (a PDF, say) stay the build's own; they may be older than the book.
        kept = {name: digest for name, digest in self.made.items() if name not in files and self.owns(name)}
        self.made = kept | {name: sha256_file(path) for name, path in staged.items()}
        mark(new_html, self.made_by, self.made)
        old = self.state / "html.old"
        shutil.rmtree(old, ignore_errors=True)
        if self.html.exists():
            os.rename(self.html, old)
        os.rename(new_html, self.html)
        for name, path in staged.items():
            os.replace(path, self.out / name)
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(self.failed, ignore_errors=True)
