"""Run an app under uvicorn in a subprocess, so the load generator never shares its event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.load import HOST, build_request, fetch

REPO_ROOT = Path(__file__).resolve().parents[1]


class ServerError(RuntimeError):
    """The server did not come up; its own stderr (inherited) says why."""


@dataclass(frozen=True, slots=True)
class Server:
    factory: str
    port: int
    process: asyncio.subprocess.Process


def workers() -> int:
    return int(os.environ.get("BENCH_WORKERS", "1"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


async def _wait_ready(server: Server, path: str, timeout_s: float) -> None:
    """Any HTTP answer will do: a 401 or 404 still proves the app is serving."""
    probe = build_request("GET", path, port=server.port)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = server.process.returncode
        if code is not None:
            raise ServerError(f"{server.factory} exited with {code} while starting; its stderr is above")
        try:
            await fetch(server.port, probe, timeout_s=2.0)
            return
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.1)
    raise ServerError(f"{server.factory} did not answer on {HOST}:{server.port} within {timeout_s:.0f}s")


async def _stop(process: asyncio.subprocess.Process, timeout_s: float = 15.0) -> None:
    """SIGTERM lets uvicorn run the lifespan shutdown; the process group is killed if it hangs."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await asyncio.wait_for(process.wait(), timeout_s)


@asynccontextmanager
async def serve(
    factory: str,
    env: Mapping[str, str],
    *,
    cwd: Path = REPO_ROOT,
    ready_path: str = "/",
    start_timeout_s: float = 60.0,
) -> AsyncIterator[Server]:
    """Start `uvicorn --factory factory` on a free loopback port with env added, and stop it on exit."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", HOST, "--port", str(port),
        "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
        "--workers", str(workers()),
    ]  # fmt: skip
    # stdout goes to our stderr: the last stdout line of a benchmark is its JSON.
    process = await asyncio.create_subprocess_exec(
        *cmd, cwd=cwd, env={**os.environ, **env}, stdout=sys.stderr, start_new_session=True
    )
    server = Server(factory=factory, port=port, process=process)
    try:
        await _wait_ready(server, ready_path, start_timeout_s)
        yield server
    finally:
        await _stop(process)
