"""The real `storyline serve` as a subprocess: real uvicorn, real sockets, the test Neo4j."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from app.neo4j.database import Target
from tests.conftest import free_ports, target_env


def storyline_command() -> list[str]:
    """Returns the installed `storyline` entry point (what users run), else `python -m`."""
    script = Path(sys.executable).parent / "storyline"
    if script.exists():
        return [str(script)]
    found = shutil.which("storyline")
    return [found] if found else [sys.executable, "-m", "app.cli"]


@dataclass
class Server:
    """A running `storyline serve`."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def ws_url(self) -> str:
        """Returns the WebSocket URL of /graphql."""
        return self.url.replace("http://", "ws://") + "/graphql"

    def output(self) -> str:
        """Returns what the server printed so far."""
        return self.log.read_text(errors="replace")


@contextmanager
def serve(target: Target, tmp: Path, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """Starts `storyline serve` on a free loopback port; stops it with SIGTERM after."""
    [port] = free_ports(1)
    log = tmp / f"serve-{port}.log"
    full_env = {
        **os.environ,
        "STORYLINE_API_TOKENS_FILE": str(tmp / "no-api-tokens"),
        "STORYLINE_PIPELINE_WORKER": "on",
        **target_env(target),
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*storyline_command(), "serve", "--port", str(port)],
            env=full_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(server: Server, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"storyline serve exited early:\n{server.output()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"storyline serve did not answer within {seconds}s:\n{server.output()}")
