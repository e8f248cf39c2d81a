"""Reuse or start the Azurite storage emulator (node_modules) for local development and tests."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
# Azurite's fixed, publicly documented development account key: not a secret.
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def connection_string(
    blob_port: int = 10000, queue_port: int = 10001, table_port: int = 10002
) -> str:
    """Return the explicit devstoreaccount1 connection string for Azurite on these ports."""
    url = "http://127.0.0.1:{}/devstoreaccount1"
    return (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_ACCOUNT_KEY};"
        f"BlobEndpoint={url.format(blob_port)};QueueEndpoint={url.format(queue_port)};"
        f"TableEndpoint={url.format(table_port)};"
    )


DEV_CONNECTION_STRING = connection_string()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class AzuriteHandle:
    """A reachable Azurite; `process` is set only when this handle started it."""

    connection_string: str
    process: subprocess.Popen[bytes] | None = None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the Azurite this handle started (its whole process group); otherwise do nothing."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        # Only signal while the leader is unreaped, so its pid (= group id) cannot have been reused.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ensure_azurite(
    table_port: int = 10002,
    blob_port: int = 10000,
    queue_port: int = 10001,
    location: str | os.PathLike[str] | None = None,
    timeout: float = 20.0,
) -> AzuriteHandle:
    """Return a handle to Azurite on these ports; start it only if the table port is closed."""
    conn = connection_string(blob_port, queue_port, table_port)
    if port_open(table_port):
        return AzuriteHandle(conn)
    if not AZURITE_BIN.exists():
        raise RuntimeError(f"{AZURITE_BIN} not found: run `npm install` in {REPO_ROOT}")
    args = [str(AZURITE_BIN), "--silent", "--disableTelemetry", "--skipApiVersionCheck"]
    args += ["--location", str(location)] if location else ["--inMemoryPersistence"]
    args += f"--blobPort {blob_port} --queuePort {queue_port} --tablePort {table_port}".split()
    # stderr goes to a file, not a pipe nobody reads, yet stays available for the error message.
    with tempfile.TemporaryFile() as err:
        # A new session keeps a terminal's Ctrl-C from killing it before its owner stops it.
        out = subprocess.DEVNULL
        proc = subprocess.Popen(args, stdin=out, stdout=out, stderr=err, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_open(table_port):
                return AzuriteHandle(conn, proc)
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        AzuriteHandle(conn, proc).stop()
        err.seek(0)
        detail = err.read().decode(errors="replace").strip()
    if port_open(table_port):  # another process started one meanwhile
        return AzuriteHandle(conn)
    raise RuntimeError(f"Azurite did not open port {table_port} within {timeout:g}s: {detail}")


def main() -> None:
    """Run Azurite in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m devhost.azurite", description=main.__doc__)
    parser.add_argument("--location", help="persist data in this folder (default: in memory)")
    args = parser.parse_args()
    handle = ensure_azurite(location=args.location)
    if handle.process is None:
        print("Azurite is already running on 127.0.0.1:10002", flush=True)
        return
    # Turn SIGTERM/SIGHUP into SystemExit so `finally` stops Azurite (e.g. scripts/run.sh's trap).
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(0))
    print("Azurite running (blob 10000, queue 10001, table 10002); Ctrl-C stops it", flush=True)
    try:
        handle.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()


if __name__ == "__main__":
    main()
