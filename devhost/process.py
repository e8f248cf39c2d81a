"""Run `python -m devhost` as a separate process, for end-to-end tests over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevHostProcess:
    """A devhost process on the Table store, started as a user would start it.

    ``kill()`` is ``kill -9`` (nothing is flushed); ``start()`` again resumes every unfinished
    instance from storage. Its output goes to ``log_path`` when one is given.
    """

    def __init__(
        self,
        app_dir: Path,
        connection_string: str,
        hub: str,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        time_scale: float = 1.0,
        log_path: Path | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._command = [
            sys.executable, "-m", "devhost", "--app", str(app_dir), "--port", str(self.port),
            "--store", "tables", "--connection-string", connection_string, "--hub", hub,
            "--time-scale", str(time_scale), *(extra_args or []),
        ]  # fmt: skip
        self._env = {**os.environ, **(env or {})}
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DevHostProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_seconds: float = 30) -> None:
        if self._log_path is None:
            self._process = subprocess.Popen(
                self._command, env=self._env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
        else:
            with open(self._log_path, "ab") as log:  # the child keeps its own copy of the fd
                self._process = subprocess.Popen(
                    self._command, env=self._env, stdout=log, stderr=subprocess.STDOUT
                )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"devhost exited with status {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/admin/host/status", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"devhost did not answer within {timeout_seconds} s")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to save anything."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C would; SIGKILL if it does not exit in time."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
