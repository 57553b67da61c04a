"""Runs inside a build's reused kernel: each notebook starts from the state a fresh kernel would give it.

A build runs several notebooks, one after another, in each of its kernels (forked, with the heavy
libraries already imported, by :mod:`ketamine_ptsd.engine.kernel_zygote`). :func:`restore`, run before every
notebook, puts back what a notebook could change and the next could see: the user namespace and execution
counter, open figures and the formats they are shown in, matplotlib's rcParams (where seaborn keeps its theme), warning filters and their
once-per-location memory, numpy's floating-point error handling, pandas' options and the working folder.
Imported modules stay loaded; the library keeps no state in them (``tests/test_kernels.py`` compares
a reused kernel's output with fresh kernels').
"""

from __future__ import annotations

import os
import warnings

_saved: dict = {}


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


def restore(cwd: str) -> None:
    """Clear what the previous notebook left behind (see the module's docstring) and work in ``cwd``.

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
