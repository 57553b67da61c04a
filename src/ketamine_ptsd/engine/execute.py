"""Executing the planned notebooks with papermill, several at a time in kernels forked from the warm zygote
(:mod:`ketamine_ptsd.engine.kernels`), each one's key and the files it read recorded in the build's state."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketamine_ptsd.engine.output import sha256_file
from ketamine_ptsd.engine.plan import BuildFailed, BuildReport, Item, Plan, Record, State, notebook_text, sha_text

if TYPE_CHECKING:
    from ketamine_ptsd.engine.kernels import WarmKernel, Zygote


def _failed_cell(path: Path) -> str:
    """ "cell N (first line of its code)" for the cell of an executed notebook that raised."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            return f"cell {index} of {len(nb.cells)} (`{first[:80]}`)"
    return "a cell"


def _execute(name: str, source: str, params: dict, target: Path, kernel: WarmKernel) -> None:
    import jupytext
    import papermill
    from nbclient.exceptions import DeadKernelError

    notebook = jupytext.reads(source, fmt="md:myst")
    try:
        papermill.execute_notebook(
            notebook,
            str(target),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            km=kernel.fresh(reads=_reads_log(target)),
        )
    except papermill.PapermillExecutionError as exc:
        raise BuildFailed(f"notebook {name} failed in {_failed_cell(target)}: {exc.ename}: {exc.evalue}") from None
    except DeadKernelError:
        # The next notebook gets a new kernel (WarmKernel.fresh starts one when this one is gone).
        raise BuildFailed(f"notebook {name}: its kernel died while executing it (out of memory?)") from None
    # Plain JSON: papermill has just written and validated it, and revalidating every figure is slow.
    executed = json.loads(target.read_text(encoding="utf-8"))
    # papermill records where it read and wrote the notebook: absolute paths of the build machine (a user's
    # name, a clinic's folder) that the published notebooks must not carry.
    recorded = executed.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in recorded:
            recorded[key] = f"{name}.ipynb"
    for cell in executed["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        # The parameters actually used are shown, collapsed; the defaults they replaced are not.
        if "injected-parameters" in tags:
            tags.append("hide-cell")
    target.write_text(notebook_text(executed), encoding="utf-8")


def _reads_log(target: Path) -> Path:
    return target.with_suffix(".reads")


def _run(item: Item, kernel: WarmKernel, plan: Plan, state: State, echo, failed_dir: Callable[[], Path]) -> str:
    """Execute one notebook and record its key and the files it read; a failed run is kept in ``failed_dir()``."""
    target = state.notebooks / f"{item.name}.running.ipynb"
    started = time.perf_counter()
    try:
        _execute(item.name, item.source, item.params, target, kernel)
    except BaseException:
        if target.exists():
            shutil.move(str(target), failed_dir() / f"{item.name}.ipynb")
        raise
    executed = state.notebooks / f"{item.name}.ipynb"
    os.replace(target, executed)
    reads = dict(line.split("\t") for line in _reads_log(target).read_text(encoding="utf-8").splitlines())
    _reads_log(target).unlink()
    record = Record(item.key, dict(sorted(reads.items())), sha256_file(executed), sha_text(item.source))
    state.write(f"notebooks/{item.name}.key", json.dumps(record.__dict__, indent=1))
    plan.keys[item.name] = record.full_key()
    echo(f"execute: {item.name}: {time.perf_counter() - started:.1f} s")
    return item.name


def write_prose(plan: Plan, state: State) -> None:
    """Put the notebooks whose prose alone changed in place of their last execution, with their records.

    The record is written first: a build stopped between the two finds a notebook its record does not vouch
    for, and executes it again.
    """
    for item in plan.prose:
        text, record = item.prose
        state.write(f"notebooks/{item.name}.key", json.dumps(record.__dict__, indent=1))
        state.write(f"notebooks/{item.name}.ipynb", text)


def execute_notebooks(
    plan: Plan,
    zygote: Zygote | None,
    state: State,
    jobs: int,
    echo,
    report: BuildReport,
    failed_dir: Callable[[], Path],
    meanwhile: Callable[[], Any],
) -> Any:
    """Execute the planned notebooks, ``jobs`` at a time in kernels forked from ``zygote`` (None only when
    there are none), recording each one's key and the files it read, and write those whose prose alone
    changed (:func:`write_prose`); returns what ``meanwhile`` returned.

    ``meanwhile`` (checking the input) runs in this thread while the kernels start and import their
    libraries; the notebooks start once it has returned, and nothing is written if it raises.
    """
    if not plan.todo:
        result = meanwhile()
        write_prose(plan, state)
        return result
    from ketamine_ptsd.engine.kernels import KernelFailed, WarmKernel

    zygote.preload(sorted({module for item in plan.todo for module in item.modules}))
    # Longest first, so no worker is left with a long notebook at the end; source length stands for work.
    queue = deque(sorted(plan.todo, key=lambda item: -len(item.source)))
    go, cancelled = threading.Event(), threading.Event()

    def worker(index: int) -> list[str]:
        kernel = WarmKernel(zygote, state.dir, state.dir / f"kernel-{index}.log", plan.lock)
        errors = []
        try:
            kernel.start()
            go.wait()
            while not cancelled.is_set():
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                try:
                    report.executed.append(_run(item, kernel, plan, state, echo, failed_dir))
                except BuildFailed as exc:
                    errors.append(str(exc))
        except KernelFailed as exc:
            errors.append(str(exc))
        finally:
            kernel.shutdown()
        return errors

    workers = min(max(1, jobs), len(plan.todo))
    with ThreadPoolExecutor(max_workers=workers) as executor:
        futures = [executor.submit(worker, i) for i in range(workers)]
        try:
            result = meanwhile()
            write_prose(plan, state)
            state.notebooks.mkdir(parents=True, exist_ok=True)
            go.set()
            errors = [e for future in futures for e in future.result()]
        except BaseException:
            cancelled.set()
            go.set()
            # Interrupted (Ctrl-C, SIGTERM) or the input refused: the kernels go with their zygote (ipykernel
            # watches its parent), so a notebook running now stops within seconds instead of running to its end.
            zygote.close()
            raise
    if errors:
        raise BuildFailed("; ".join(errors) + f"; executed copies kept in {failed_dir()}")
    return result
