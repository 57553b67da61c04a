"""What a process that builds again and again (the preview) keeps warm between builds.

A build closes the process that imports the notebooks' libraries and forks their kernels (the zygote,
:mod:`ketamine_ptsd.engine.kernels`) once its notebooks have run, and its render process (Jupyter Book with
Sphinx set up, :mod:`ketamine_ptsd.engine.render_worker`) once it has rendered. Starting either costs about a
second of CPU or more. :class:`Warm` hands a build a spare of each, started after the build before (so the
two never share the cores with a build), ready and waiting.

A spare holds only while what it was made from does:

- the zygote's imports come from the interpreter, the lock file and the package's modules: when any of them
  changed, the spare is closed and a new one started;
- the render process read Sphinx's pickled environment, the configuration and the bibliography when it set
  up: it is used only for the render folder it was set up on, as that build published it (the ``key`` the
  build gives), with the same sources other than pages. Pages are read when Sphinx builds, after ``go``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ketamine_ptsd.engine.kernels import Zygote


class Warm:
    """Spares for the next build of one project: ``package`` is the folder of its library, ``lock_file`` its
    pinned environment. :meth:`refill` after each build; :meth:`close` at the end."""

    def __init__(self, package: Path, lock_file: Path):
        self.package, self.lock_file = package, lock_file
        # The zygote's arguments in the last build, its spare, and what the spare's imports came from.
        self.zygote_args: tuple | None = None
        self.spare_zygote: Zygote | None = None
        self.zygote_made = ""
        # How the last build started its render process and said which render folder it was for, its spare,
        # and the render folder that spare set up on.
        self.render_launch: Callable[..., subprocess.Popen] | None = None
        self.render_key: Callable[[], str | None] | None = None
        self.spare_render: subprocess.Popen | None = None
        self.render_made: str | None = None

    def imports_stamp(self) -> str:
        """What the zygote's imports depend on: the interpreter, the lock file and the package's modules."""
        digest = hashlib.sha256()
        interpreter = Path(sys.executable).resolve().stat()
        digest.update(f"{sys.executable}:{interpreter.st_ino}:{interpreter.st_mtime_ns}".encode())
        for path in [self.lock_file, *sorted(self.package.rglob("*.py"))]:
            if path.is_file():
                digest.update(str(path).encode() + path.read_bytes())
        return digest.hexdigest()

    def expect(self, libraries: list[str], watch: Path, ignore: list[Path]) -> None:
        """Say what the builds' zygotes are made with (a build that executes nothing takes none): a spare made
        with other arguments is closed, and :meth:`refill` makes one with these."""
        args = (list(libraries), watch, list(ignore))
        if args != self.zygote_args:
            self._close_zygote()
            self.zygote_args = args

    def start(self, libraries: list[str], watch: Path, ignore: list[Path]) -> None:
        """:meth:`expect`, and start a zygote now unless a spare that holds is waiting: the first build's, or
        the one after a module changed, imports while the build plans, as a build without spares does."""
        self.expect(libraries, watch, ignore)
        self._refill_zygote()

    def zygote(self, libraries: list[str], watch: Path, ignore: list[Path]) -> Zygote:
        """A zygote for a build: the spare if it was made with these arguments and its imports still hold."""
        self.expect(libraries, watch, ignore)
        self._refill_zygote()
        zygote, self.spare_zygote = self.spare_zygote, None
        return zygote

    def render_process(
        self, kept: str | None, key: Callable[[], str | None], launch: Callable[..., subprocess.Popen]
    ) -> subprocess.Popen:
        """A render process for a build: the spare if it set up on the render folder ``kept`` names (the
        build's ``key()`` before it touched the folder; None: no build published the folder as it is);
        otherwise one ``launch()`` starts. ``key`` and ``launch(spare=True)`` make the next spare."""
        self.render_key, self.render_launch = key, launch
        spare, self.spare_render = self.spare_render, None
        if spare is not None and kept is not None and kept == self.render_made and spare.poll() is None:
            return spare
        _stop(spare)
        return launch()

    def refill(self) -> None:
        """Start the spares the next build will want, unless they are waiting and still hold."""
        self._refill_zygote()
        if self.render_key is not None:
            now = self.render_key()
            if self.spare_render is not None and (now != self.render_made or self.spare_render.poll() is not None):
                self.spare_render = _stop(self.spare_render)
            if self.spare_render is None and now is not None:
                self.render_made = now
                self.spare_render = self.render_launch(spare=True)

    def _refill_zygote(self) -> None:
        if self.zygote_args is None:
            return
        stamp = self.imports_stamp()
        if self.spare_zygote is not None and stamp == self.zygote_made:
            return
        self._close_zygote()
        self.zygote_made = stamp
        self.spare_zygote = Zygote(*self.zygote_args)

    def _close_zygote(self) -> None:
        if self.spare_zygote is not None:
            self.spare_zygote.close()
            self.spare_zygote = None

    def close(self) -> None:
        self._close_zygote()
        self.spare_render = _stop(self.spare_render)


def _stop(process: subprocess.Popen | None) -> None:
    """End a spare render process (waiting for ``go``, it has written nothing), and collect it."""
    if process is not None and process.poll() is None:
        process.kill()
        process.communicate()
