"""Slow results kept between builds, keyed on what they depend on: their arguments and their code.

A notebook runs again whenever anything it reads changes, yet part of its work may depend on only a few
of those inputs (a search that depends on published numbers and two parameters, not on the data file).
:func:`cached` keeps such a result in the build's state, under a key of the function's arguments, the
source of every module of the package the function can run (its own module and those it imports,
transitively) and the lock file: the guarantee a notebook's own key gives, so a kept result is never
stale. Storage and the hashing of arguments are joblib's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ketamine_ptsd.engine import kernel_state
from ketamine_ptsd.engine.output import sha256_file

T = TypeVar("T")

#: Results kept in a folder (a build keeps about twenty: its figures and reconstructions); beyond them the
#: least recently used are deleted.
KEEP = 64
#: Where results are kept, relative to a notebook's working directory (the build's state).
CACHE_DIRNAME = "cache"


def code_key(module: str, package: str | None = None) -> str:
    """SHA-256 of the source of every module of ``package`` (by default ``module``'s top-level package) that
    ``module`` (dotted) can run, and of the build's lock file."""
    from ketamine_ptsd.engine import plan

    package = package or module.partition(".")[0]
    try:
        modules = plan.import_closure(f"import {module}", package)
    except plan.UnresolvedImport:
        modules = {}
    if module not in modules:
        raise ValueError(f"{module} is not a module of {package}")
    sources = {name: sha256_file(path) for name, path in modules.items()}
    # Set by the engine in each kernel before a notebook runs; empty outside a build.
    lock = kernel_state.lock_digest_of_build
    return hashlib.sha256(json.dumps([sources, lock], sort_keys=True).encode()).hexdigest()


def cached(
    function: Callable[..., T],
    /,
    *args: Any,
    folder: str | Path = CACHE_DIRNAME,
    code: tuple[str, ...] = (),
    **kwargs: Any,
) -> T:
    """``function(*args, **kwargs)``, computed once for these arguments and this code and kept in ``folder``.

    The folder is relative to the working directory, which for a notebook the build executes is the
    build's state. The arguments must hash the same in every process (numbers, strings, arrays, data
    frames and dataclasses of them do; joblib hashes them by value). ``code`` names further modules whose
    code the result depends on, besides ``function``'s own.
    """
    from joblib import Memory

    memory = Memory(folder, verbose=0)
    key = "".join(code_key(module) for module in (function.__module__, *code))
    value = memory.cache(_call)(key, function, args, kwargs)
    memory.reduce_size(items_limit=KEEP)
    return value


def _call(code: str, function: Callable[..., T], args: tuple, kwargs: dict) -> T:
    """The call :func:`cached` keeps; ``code`` only keys it."""
    return function(*args, **kwargs)
