"""The kernels a build executes its notebooks in: one warm kernel per worker, reused notebook after notebook.

Starting a kernel and importing pandas, scipy, seaborn and pingouin takes seconds, more than most of the
book's notebooks need for their own cells. So a :class:`Zygote` process imports them once, each worker's
kernel is forked from it with everything already imported, and before every notebook the kernel is
returned to a fresh kernel's state (:func:`ketamine_ptsd.engine.kernel_state.restore`, run inside the kernel).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any


class KernelFailed(RuntimeError):
    """A kernel could not be started or prepared."""


def _client_class():
    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):
        """A client whose ``wait_for_ready`` returns as soon as the kernel has answered.

        jupyter_client's version ends by waiting for IOPub to stay quiet for 0.2 s, a fixed cost paid by
        every notebook. Here the kernel is ready once it has replied to ``kernel_info`` and IOPub has carried
        that request's idle status, which also shows IOPub is subscribed (otherwise it asks again).
        """

        def _context_default(self):
            # A client connecting before the new kernel has bound its sockets retries after zmq's reconnect
            # interval, 100 ms by default: paid by every kernel's first notebook.
            import zmq

            context = super()._context_default()
            context.setsockopt(zmq.RECONNECT_IVL, 5)
            return context

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (timeout or 60)
            while time.monotonic() < deadline:
                msg_id = self.kernel_info()
                try:
                    reply = await self.get_shell_msg(timeout=1)
                    while reply["parent_header"].get("msg_id") != msg_id:
                        reply = await self.get_shell_msg(timeout=1)
                    self._handle_kernel_info_reply(reply)
                    while True:
                        msg = await self.get_iopub_msg(timeout=0.5)
                        if (
                            msg["parent_header"].get("msg_id") == msg_id
                            and msg["msg_type"] == "status"
                            and msg["content"]["execution_state"] == "idle"
                        ):
                            return
                except Empty:
                    if not await self._async_is_alive():
                        raise RuntimeError("Kernel died before replying to kernel_info") from None
            raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    return ReadyClient


class Zygote:
    """The build's end of :mod:`ketamine_ptsd.engine.kernel_zygote`: a process that imports modules once
    (:meth:`preload`) and forks kernels on request, recording the files they read under ``watch`` (outside
    ``ignore``). It starts importing ``libraries`` at once. Thread-safe; :meth:`close` ends it."""

    def __init__(self, libraries: list[str], watch: Path, ignore: list[Path]):
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ketamine_ptsd.engine.kernel_zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        self.lock = threading.Lock()
        self.pending = 0  # preloads not yet answered
        self.forked: list[int] = []
        self._send({"watch": str(watch), "ignore": [str(i) for i in ignore]})
        self.preload(libraries)

    def _send(self, message: Any) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def _receive(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.errors.seek(0)
            raise KernelFailed(f"the process that starts kernels exited:\n{self.errors.read()[-3000:]}")
        return json.loads(line)

    def preload(self, modules: list[str]) -> None:
        """Import ``modules`` before the next kernel is forked, so every kernel starts with them."""
        with self.lock:
            self._send({"modules": modules})
            self.pending += 1

    def fork(self, argv: list[str], cwd: str, log: str, env: dict[str, str]) -> int:
        """Fork a kernel ``python -m ipykernel_launcher ARGV`` in ``cwd``, writing to ``log``; its pid."""
        with self.lock:
            while self.pending:
                self._receive()
                self.pending -= 1
            self._send({"argv": argv, "cwd": cwd, "log": log, "env": env})
            pid = self._receive()["pid"]
            self.forked.append(pid)
            return pid

    def close(self) -> None:
        """End the process (again: it does nothing). Its kernels have been shut down, or exit with it (ipykernel
        watches its parent); it holds nothing else, and is not left to finish imports no kernel will use."""
        if self.process.poll() is None:
            # A kernel still running (the build was interrupted) is ended now, not when it notices its parent
            # gone; while it is this process's child its pid cannot have been reused.
            for pid in self.forked:
                if _parent(pid) == self.process.pid:
                    os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.errors):
            stream.close()


def _parent(pid: int) -> int | None:
    """The parent of process ``pid`` (None if it is gone, or where /proc does not tell)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])  # the name, in parentheses, may hold spaces


class _ForkedProcess:
    """What jupyter_client's LocalProvisioner asks of a ``Popen``, for a kernel the zygote forked.

    The zygote is the kernel's parent and collects its exit, so here a kernel is alive while its pid is.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0  # the exit status went to the zygote
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _manager_class(folder: Path, zygote: Zygote):
    """A kernel manager whose kernel the ``zygote`` forks, working in ``folder``, with its sockets and log there.

    Unix sockets, because TCP ports picked by parallel kernels can collide.
    """
    from jupyter_client.manager import AsyncKernelManager

    class ForkedKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.transport = "ipc"
            self.ip = str(folder / "k")
            self.client_factory = _client_class()
            self.clients: list = []

        def client(self, **kw):
            # papermill does not close the client of a kernel it does not own; the build does, between notebooks.
            client = super().client(**kw)
            self.clients.append(client)
            return client

        def close_clients(self) -> None:
            while self.clients:
                self.clients.pop().stop_channels()

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
            # jupyter_client's hook for launching kernels differently: a fork of the zygote, not a new process.
            if "ipykernel_launcher" not in kernel_cmd:
                raise KernelFailed(f"the python3 kernel is not ipykernel: {kernel_cmd}")
            argv = kernel_cmd[kernel_cmd.index("ipykernel_launcher") + 1 :]
            pid = zygote.fork(argv, str(folder), str(folder / "kernel.log"), dict(kw.get("env") or {}))
            provisioner = self.provisioner
            provisioner.process, provisioner.pid, provisioner.pgid = _ForkedProcess(pid), pid, pid
            self._reconcile_connection_info(provisioner.connection_info)

    return ForkedKernelManager


class WarmKernel:
    """One worker's kernel, forked from the ``zygote`` and made fresh before every notebook.

    It works in a private temporary folder until a notebook runs, so it can start before the build has
    written anything (while the cohort is validated); each notebook then runs in ``cwd``. Its log is kept
    as ``log`` if it says anything. All calls must come from the one thread that created it: ``run_sync``
    keeps an event loop per thread, and the kernel's sockets belong to that loop.
    """

    def __init__(self, zygote: Zygote, cwd: Path, log: Path, lock_digest: str = ""):
        self.folder = tempfile.TemporaryDirectory(prefix="kp-kernel-")
        self.manager = _manager_class(Path(self.folder.name), zygote)(kernel_name="python3")
        self.cwd, self.log, self.lock_digest = cwd, log, lock_digest

    def start(self) -> None:
        """Start the kernel (again, after a crash)."""
        from jupyter_core.utils import run_sync

        run_sync(self._start)()

    async def _start(self) -> None:
        if await self.manager.is_alive():
            return
        await self.manager.start_kernel()

    def fresh(self, reads: Path) -> Any:
        """The kernel manager, its kernel returned to a fresh kernel's state, for papermill's ``km``; the
        files the next notebook reads will be listed in ``reads``."""
        from jupyter_core.utils import run_sync

        run_sync(self._fresh)(reads)
        return self.manager

    async def _fresh(self, reads: Path) -> None:
        self.manager.close_clients()
        await self._start()
        await self._run(
            "from ketamine_ptsd.engine import kernel_state; "
            f"kernel_state.restore({str(self.cwd)!r}, {str(reads)!r}, {self.lock_digest!r})"
        )

    async def _run(self, code: str) -> None:
        client = self.manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            msg_id = client.execute(code, silent=True, store_history=False)
            reply = await self._reply(client, msg_id, timeout=120)
        except (Empty, RuntimeError) as exc:
            raise KernelFailed(f"preparing a kernel failed: no answer ({exc or 'timed out'})") from None
        finally:
            self.manager.close_clients()
        content = reply["content"]
        if content["status"] != "ok":
            raise KernelFailed(f"preparing a kernel failed: {content.get('ename')}: {content.get('evalue')}")

    async def _reply(self, client, msg_id: str, timeout: float) -> dict:
        """The shell reply to ``msg_id``; asked for a second at a time, so a kernel that died (killed when a
        build is interrupted) is noticed at once rather than after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = await client.get_shell_msg(timeout=1)
            except Empty:
                if not await self.manager.is_alive():
                    raise RuntimeError("the kernel died") from None
                if time.monotonic() > deadline:
                    raise
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        try:
            self.manager.close_clients()
            if run_sync(self.manager.is_alive)():
                run_sync(self.manager.shutdown_kernel)(now=True)
        finally:
            log = Path(self.folder.name) / "kernel.log"
            if log.exists() and log.stat().st_size and self.log.parent.is_dir():
                shutil.copyfile(log, self.log)
            self.folder.cleanup()
