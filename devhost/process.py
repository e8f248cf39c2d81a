"""Run `python -m devhost` as a separate process, for end-to-end tests over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

# `python -m devhost` runs from the folder that holds the devhost package.
_PROJECT_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevHostProcess:
    """A devhost process on the Table store (or, with no connection string, the memory store),
    started as a user would start it.

    ``kill()`` is ``kill -9`` (nothing is flushed); ``start()`` again resumes every unfinished
    instance from storage. Its output goes to ``log_path`` when one is given. With
    ``process_group`` it leads a process group of its own, so ``interrupt()`` is Ctrl-C in a
    terminal: SIGINT to devhost and every process it started.
    """

    def __init__(
        self,
        app_dir: Path,
        connection_string: str | None,
        hub: str,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        time_scale: float = 1.0,
        log_path: Path | None = None,
        extra_args: list[str] | None = None,
        process_group: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        store = ["--store", "memory"]
        if connection_string is not None:
            store = ["--store", "tables", "--connection-string", connection_string]
        self._command = [
            sys.executable, "-m", "devhost", "--app", str(app_dir), "--port", str(self.port),
            *store, "--hub", hub, "--time-scale", str(time_scale), *(extra_args or []),
        ]  # fmt: skip
        self._env = {**os.environ, **(env or {})}
        self._log_path = log_path
        self._process_group = process_group
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DevHostProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_seconds: float = 30) -> None:
        with open(self._log_path or os.devnull, "ab") as log:  # the child keeps its own fd
            self._process = subprocess.Popen(
                self._command,
                env=self._env,
                cwd=_PROJECT_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self._process_group,
            )
        try:
            self._wait_until_serving(self._process, timeout_seconds)
        except BaseException:
            self.kill()
            raise

    def _wait_until_serving(self, process: subprocess.Popen[bytes], timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"devhost exited with status {process.returncode}")
            if self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"devhost did not answer within {timeout_seconds} s")

    def _answers(self) -> bool:
        """Whether the health endpoint answers 200 (a bare socket: nothing is left open when a
        probe fails part way, as urllib leaves its response file on a read timeout)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"GET /admin/host/status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                return sock.recv(64).split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]
        except OSError:
            return False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to save anything."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to devhost's process group (its own only with ``process_group``)."""
        if self._process is not None and self._process.poll() is None:
            if self._process_group:
                os.killpg(self._process.pid, signal.SIGINT)
            else:
                self._process.send_signal(signal.SIGINT)

    def terminate(self) -> None:
        """SIGTERM to devhost alone, as a service manager stops it."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def wait(self, timeout_seconds: float) -> int:
        """The exit status; raises subprocess.TimeoutExpired if it runs on."""
        if self._process is None:
            raise RuntimeError("devhost was not started")
        return self._process.wait(timeout=timeout_seconds)

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C would; SIGKILL if it does not exit in time."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
