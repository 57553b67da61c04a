"""Runs inside a build's reused kernel: each notebook starts from the state a fresh kernel would give it.

A build runs several notebooks, one after another, in each of its kernels (forked, with the heavy
libraries already imported, by :mod:`ketamine_ptsd.engine.kernel_zygote`). :func:`restore`, run before every
notebook, puts back what a notebook could change and the next could see: the user namespace and execution
counter, open figures and the formats they are shown in, matplotlib's rcParams (where seaborn keeps its theme), warning filters and their
once-per-location memory, numpy's floating-point error handling, pandas' options and the working folder.
Imported modules stay loaded; the library keeps no state in them (``tests/test_kernels.py`` compares
a reused kernel's output with fresh kernels').

It also records the files a notebook reads (:func:`watch`): an audit hook sees every file Python opens,
and those opened for reading under the watched folder are the notebook's inputs, kept with its cache key.
A library that cached a file's contents across notebooks would hide the read from the next notebook: it
must not (nor may it read files through C code, which the hook does not see).
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings

_saved: dict = {}
#: The build's lock file's SHA-256, which results kept by :mod:`ketamine_ptsd.engine.memo` are keyed on.
lock_digest_of_build = ""
#: What :func:`watch` records: the folder, folders inside it that are not inputs, the files read so far
#: with their SHA-256 (and those read before the first notebook), and the file each new read is appended to.
_watch: dict = {"root": None, "ignore": (), "reads": {}, "preloaded": {}, "log": None, "busy": False}


def watch(root: str, ignore: list[str]) -> None:
    """Record every file opened for reading under ``root`` (outside ``ignore``), from now on, in this process
    and the kernels forked from it. Python sources and bytecode are left out: the import system reads them
    when it pleases (once per process, or not at all when cached), so modules are tracked through imports."""
    _watch.update(
        root=os.path.join(os.path.realpath(root), ""),
        ignore=tuple(os.path.join(os.path.realpath(i), "") for i in ignore),
    )
    sys.addaudithook(_audit)


def _audit(event: str, args: tuple) -> None:
    if event != "open" or _watch["busy"]:
        return
    path, _, flags = args
    if isinstance(path, int) or flags & os.O_ACCMODE != os.O_RDONLY:
        return
    _watch["busy"] = True  # realpath, hashing and the log's own open must not come back here
    try:
        real = os.path.realpath(os.fsdecode(path))
        if not real.startswith(_watch["root"]) or real.startswith(_watch["ignore"]) or real.endswith((".py", ".pyc")):
            return
        relative = real[len(_watch["root"]) :]
        if relative not in _watch["reads"]:
            # Hashed as it is opened: a file edited after the notebook read it then differs next time.
            _watch["reads"][relative] = file_digest(real)
            if _watch["log"]:
                with open(_watch["log"], "a", encoding="utf-8") as log:
                    log.write(f"{relative}\t{_watch['reads'][relative]}\n")
    finally:
        _watch["busy"] = False


def file_digest(path: str) -> str:
    """The file's SHA-256, empty if there is none (a file looked for and not found: its appearing is a change)."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return ""


def _record() -> None:
    """Remember the state of this kernel before its first notebook, as the state to restore."""
    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib_inline.backend_inline import InlineBackend

    plt.close(plt.figure())  # activates the inline backend (interactive mode, its hooks) as a first plot would
    inline = InlineBackend.instance()
    _saved.update(
        rc=dict(matplotlib.rcParams),
        filters=list(warnings.filters),
        numpy=np.geterr(),
        # The inline backend's settings and the formats they selected, which a notebook may change.
        figure_formats=(set(inline.figure_formats), dict(inline.print_figure_kwargs)),
    )


def restore(cwd: str, reads_log: str, lock_digest: str = "") -> None:
    """Clear what the previous notebook left behind (see the module's docstring) and work in ``cwd``; the
    files the next notebook reads are appended to ``reads_log`` (a line ``PATH<TAB>SHA-256`` each), starting with those read before any
    notebook ran (while the libraries were imported), which every notebook's state depends on. Results the
    notebook keeps (:mod:`ketamine_ptsd.engine.memo`) are keyed on ``lock_digest``, the build's lock file.

    The first call, before any notebook has run, records the state later calls return to.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from IPython import get_ipython
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib_inline.backend_inline import InlineBackend

    if not _saved:
        _record()
    shell = get_ipython()
    shell.reset(new_session=True)
    plt.close("all")
    inline = InlineBackend.instance()
    inline.figure_formats, inline.print_figure_kwargs = _saved["figure_formats"]
    select_figure_formats(shell, inline.figure_formats, **inline.print_figure_kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # restoring deprecated rc keys and pandas options warns about them
        matplotlib.rcParams.update(_saved["rc"])
        pd.reset_option("all")
    warnings.filters[:] = _saved["filters"]
    warnings._filters_mutated()  # forget which warnings were already shown once
    np.seterr(**_saved["numpy"])
    os.chdir(cwd)
    global lock_digest_of_build
    lock_digest_of_build = lock_digest
    if _watch["log"] is None:
        _watch["preloaded"] = dict(_watch["reads"])
    _watch["reads"] = {}
    _watch["log"] = reads_log
    with open(reads_log, "w", encoding="utf-8") as log:
        log.writelines(f"{path}\t{digest}\n" for path, digest in sorted(_watch["preloaded"].items()))
