"""Put a built book on a git remote's ``gh-pages`` branch, the route Jupyter Book's documentation gives.

ghp-import commits the site as the branch's next commit (with ``.nojekyll``, so GitHub Pages serves the
theme's ``_static`` folder) and pushes it. It runs in a scratch repository that fetches the remote's
branch first, so the project's own repository gains no branch and the published history is kept.

Only the HTML (and the PDF beside it, when one was made) is published: never the build's state
(``.state/``: the validated cohort with identifiers) or a failed build's notebooks (``failed/``). A build
that failed, or that is older than a source it was made from, is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

#: Written (by the command line, at a build's start time) when a build succeeds.
BUILT_STAMP = "built"
NEVER_PUBLISHED = (".state", "failed")
BRANCH = "gh-pages"


class PublishRefused(RuntimeError):
    """The build is not fit to publish, or the remote is not reachable; the message says why."""


def mark_built(state_dir: Path, started: float) -> None:
    """Record that the build started at ``started`` (a ``time.time()``) succeeded."""
    stamp = state_dir / BUILT_STAMP
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    os.utime(stamp, (started, started))


def _newest(sources: Iterable[Path]) -> tuple[float, Path | None]:
    newest, which = 0.0, None
    for source in sources:
        files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
        for path in files:
            if "__pycache__" in path.parts:
                continue
            mtime = path.stat().st_mtime
            if mtime > newest:
                newest, which = mtime, path
    return newest, which


def check_publishable(out: Path, html: Path, state_dir: Path, sources: Iterable[Path]) -> None:
    """Raise :class:`PublishRefused` unless ``out`` holds a complete build newer than every source."""
    if (out / "failed").exists():
        raise PublishRefused(
            f"the last build of {out} failed (its notebooks are in {out / 'failed'}); fix it and build again"
        )
    stamp = state_dir / BUILT_STAMP
    if not (html / "index.html").is_file() or not stamp.is_file():
        raise PublishRefused(f"{out} holds no finished build; build it first")
    newest, which = _newest(sources)
    if newest > stamp.stat().st_mtime:
        raise PublishRefused(f"{which} changed after the book in {out} was built; build it again first")


def remote_url(repo: Path, remote: str) -> str:
    """The URL of ``remote`` (a remote's name in ``repo``, or already a URL or a path)."""
    found = subprocess.run(["git", "-C", str(repo), "remote", "get-url", remote], capture_output=True, text=True)
    if found.returncode == 0:
        return found.stdout.strip()
    if "://" in remote or remote.startswith("git@") or Path(remote).exists():
        return str(Path(remote).absolute()) if Path(remote).exists() else remote
    raise PublishRefused(f"{remote} is neither a remote of {repo} nor a URL or path")


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def publish(html: Path, url: str, message: str, author: str, extra_files: Iterable[Path] = ()) -> str:
    """Commit ``html`` (plus ``extra_files`` at its top) as the next commit of ``url``'s gh-pages branch, by
    ``author`` (``Name <email>``), and push it; returns the commit."""
    with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
        site, repo = Path(tmp) / "site", Path(tmp) / "repo"
        shutil.copytree(html, site, ignore=shutil.ignore_patterns(*NEVER_PUBLISHED))
        for extra in extra_files:
            shutil.copy2(extra, site / extra.name)
        repo.mkdir()
        _git(repo, "init", "--quiet")
        name, _, email = author.partition(" <")
        _git(repo, "config", "user.name", name)
        _git(repo, "config", "user.email", email.rstrip(">"))
        _git(repo, "remote", "add", "site", url)
        heads = _git(repo, "ls-remote", "--heads", "site", BRANCH)
        if heads.returncode:
            raise PublishRefused(f"cannot reach {url}: {heads.stderr.strip().splitlines()[-1:]}")
        if heads.stdout.strip():
            fetched = _git(repo, "fetch", "--quiet", "site", f"+refs/heads/{BRANCH}:refs/remotes/site/{BRANCH}")
            if fetched.returncode:
                raise PublishRefused(f"cannot fetch {BRANCH} from {url}: {fetched.stderr.strip()}")
        pushed = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from ghp_import import main; sys.argv[0] = 'ghp-import'; main()",
                "--no-jekyll",
                "--push",
                "--remote",
                "site",
                "--branch",
                BRANCH,
                "--message",
                message,
                str(site),
            ],
            cwd=repo,
            capture_output=True,
            text=True,
        )
        if pushed.returncode:
            raise PublishRefused(f"ghp-import could not publish to {url}: {(pushed.stdout + pushed.stderr).strip()}")
        return _git(repo, "rev-parse", BRANCH).stdout.strip()
