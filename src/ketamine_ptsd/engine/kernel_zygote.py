"""A process that imports the notebooks' libraries once, then forks a kernel whenever the build asks.

Starting a kernel and importing pandas, scipy, seaborn, pingouin and the package costs two to three
seconds of CPU; each kernel forked from this process starts with all of it already imported (shared,
copy-on-write), and pays only for starting ipykernel itself.

Protocol, one JSON document per line: the first line on standard input is ``{"watch": ROOT, "ignore":
[...]}``: from then on the files opened for reading under ROOT are recorded
(:func:`ketamine_ptsd.engine.kernel_state.watch`). A line ``{"modules": [...]}`` imports those modules and
answers ``{"ready": true}`` (the build sends the libraries at once and its own modules once it knows
which notebooks run). A line ``{"argv": [...], "cwd": ..., "log": ..., "env": {...}}`` forks a kernel
run as ``python -m ipykernel_launcher ARGV`` would be, in its own session, working in ``cwd``, its output
going to ``log``; the answer is ``{"pid": PID}``. The end of standard input ends the process at once;
its kernels are shut down by the build, and exit by themselves if this process goes first (ipykernel
watches its parent).

Run as ``python -m ketamine_ptsd.engine.kernel_zygote``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import sys

#: Modules ipykernel imports to start a kernel: imported here once, not by every kernel (0.08 s of its 0.14 s).
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",
    "ipykernel.zmqshell",
    "IPython.core.completerlib",
    "sqlite3",
    "tornado.queues",
)


def _reap(*_) -> None:
    """Collect exited kernels, so they do not linger as zombies the build would take for alive."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _kernel(request: dict) -> None:
    """In the forked child: become the kernel ``request`` describes. Never returns."""
    try:
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # The kernel exits when this process does, which ends with the build's end of its input. (ipykernel
        # read JPY_PARENT_PID when this process imported it, so the parent is given on the command line.)
        sys.argv = ["ipykernel_launcher", *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except BaseException:  # noqa: BLE001 - a child must never return into the parent's loop
        import traceback

        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def main() -> None:
    # What ipykernel sets for its kernels, before matplotlib is imported and reads it.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if sys.path and sys.path[0] == "":
        del sys.path[0]
    request = json.loads(sys.stdin.readline())
    from ketamine_ptsd.engine import kernel_state

    # Before the imports: a module that reads a file when imported makes that file every notebook's input.
    kernel_state.watch(request["watch"], request["ignore"])
    # The kernel application, and what it imports while it starts (its debugger, IPython's shell and history).
    for name in KERNEL_MODULES:
        importlib.import_module(name)

    signal.signal(signal.SIGCHLD, _reap)
    for line in sys.stdin:
        request = json.loads(line)
        if "modules" in request:
            for name in request["modules"]:
                importlib.import_module(name)
            # What the imports made is never garbage: out of the collector's sight, a kernel's first
            # collections do not walk it (they cost a first figure about 0.2 s), and do not touch its pages
            # shared with this process.
            gc.freeze()
            print(json.dumps({"ready": True}), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            _kernel(request)
        print(json.dumps({"pid": pid}), flush=True)
    # Nothing is left to flush or close; tearing down the imported libraries would only take time.
    os._exit(0)


if __name__ == "__main__":
    main()
