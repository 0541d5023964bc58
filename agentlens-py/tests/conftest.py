"""Fixtures that run the real collector binary on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "als_" + "5a" * 32
START_TIMEOUT = 30.0


def collector_binary() -> Path:
    """Return `$AGENTLENS_BIN`, or `debug/agentlens` in cargo's target directory, building
    it when missing.

    The target directory is `$CARGO_TARGET_DIR`, relative to the current directory as cargo
    reads it, or else `target/` in the workspace.
    """
    configured = os.environ.get("AGENTLENS_BIN")
    if configured:
        return Path(configured)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target").absolute()
    binary = target_dir / "debug" / "agentlens"
    if not binary.exists():
        # cargo runs in the workspace, where a relative path would name another directory.
        subprocess.run(
            ["cargo", "build", "-p", "agentlens-collector", "--bin", "agentlens"],
            cwd=REPO_ROOT,
            env={**os.environ, "CARGO_TARGET_DIR": str(target_dir)},
            check=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Collector:
    """An `agentlens serve` process with its own database and a preset API key."""

    def __init__(self, binary: Path, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.api_key = API_KEY
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.directory / "collector.log", "ab")
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "serve",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--db",
                str(self.directory / "agentlens.db"),
            ],
            env={**os.environ, "AGENTLENS_API_KEY": self.api_key},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"collector exited at start: {self.log_tail()}")
            try:
                self.get("/api/health")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        raise RuntimeError(f"collector did not answer within {START_TIMEOUT} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self) -> str:
        text = (self.directory / "collector.log").read_text(errors="replace")
        return text[-2000:]

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON resource; numbers with a fraction are read as exact `Decimal`s."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(
            f"{self.url}{path}{query}", headers={"Authorization": f"Bearer {self.api_key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read(), parse_float=Decimal)

    def events(self, session_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        """Return every stored event of a session, oldest first."""
        params: dict[str, Any] = {"sessionId": session_id, "order": "asc", "limit": 500}
        if event_type is not None:
            params["eventType"] = event_type
        events: list[dict[str, Any]] = []
        while True:
            page = self.get("/api/events", offset=len(events), **params)
            events.extend(page["events"])
            if not page["hasMore"]:
                return events

    def session(self, session_id: str) -> dict[str, Any]:
        session: dict[str, Any] = self.get(f"/api/sessions/{session_id}")
        return session


@pytest.fixture(scope="session")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """A collector shared by the tests of a run; tests keep apart by session id."""
    server = Collector(collector_binary(), tmp_path_factory.mktemp("collector"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector for one test, which the test may stop."""
    server = Collector(collector_binary(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the caller's AgentLens settings out of the tests."""
    for name in (
        "AGENTLENS_SERVER_URL",
        "AGENTLENS_API_KEY",
        "AGENTLENS_AGENT_ID",
        "AGENTLENS_SESSION_ID",
    ):
        monkeypatch.delenv(name, raising=False)
