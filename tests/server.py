"""The real `storyline serve` as a subprocess: real uvicorn, real sockets, the test Neo4j."""

from __future__ import annotations

import os
import random
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
    """Starts `storyline serve` on a free loopback port; stops it with SIGTERM after.

    Other checkouts' suites start servers on this machine too, and a port probed free
    can be taken before our server binds it: the port is drawn at random among free
    ones, the server counts as up only once it says it listens (an /healthz answer
    alone may come from another suite's server on that port), and a server that
    lost the port is started again on another.
    """
    full_env = {
        **os.environ,
        "STORYLINE_API_TOKENS_FILE": str(tmp / "no-api-tokens"),
        "STORYLINE_PIPELINE_WORKER": "on",
        **target_env(target),
        **(env or {}),
    }
    for attempt in range(1, 4):
        port = random.choice(free_ports(50))
        log = tmp / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*storyline_command(), "serve", "--port", str(port)],
                env=full_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        server = Server(process, f"http://127.0.0.1:{port}", log)
        try:
            if _wait_until_up(server, last=attempt == 3):
                yield server
                return
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_until_up(server: Server, last: bool, seconds: float = 90) -> bool:
    """Waits until the server listens and answers; False when another process had its port."""
    listening = f"Uvicorn running on {server.url}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if "address already in use" in server.output() and not last:
                return False
            raise AssertionError(f"storyline serve exited early:\n{server.output()}")
        try:
            if (
                listening in server.output()
                and httpx.get(server.url + "/healthz", timeout=2).status_code == 200
            ):
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"storyline serve did not answer within {seconds}s:\n{server.output()}")
