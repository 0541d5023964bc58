"""Delivery: the exit flush, a collector that goes away, and `os.fork()`."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest
from agentlens import Client

from .conftest import Collector, collector_binary

EVENTS_AT_EXIT = 1446


def run_python(code: str, collector: Collector) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "AGENTLENS_SERVER_URL": collector.url,
        "AGENTLENS_API_KEY": collector.api_key,
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_exit_flushes_queued_events(collector: Collector) -> None:
    code = f"""
        import agentlens

        client = agentlens.Client()
        for index in range({EVENTS_AT_EXIT}):
            client.track_cost(
                provider="openai", model="gpt-4o-mini", input_tokens=index + 1,
                output_tokens=1, cost_usd="0.000001", session_id="ses_py_exit",
            )
        # No flush() and no close(): the atexit hook has to send everything.
    """

    finished = run_python(code, collector)

    assert finished.returncode == 0, finished.stderr
    events = collector.events("ses_py_exit")
    assert len(events) == EVENTS_AT_EXIT
    assert sorted(event["payload"]["inputTokens"] for event in events) == list(
        range(1, EVENTS_AT_EXIT + 1)
    )
    assert collector.session("ses_py_exit")["totalCostUsd"] == Decimal("0.001446")


def test_stopped_collector_counts_failures(
    own_collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(own_collector.url, own_collector.api_key, flush_interval=0.05)
    client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)
    assert client.flush() == 0
    own_collector.stop()

    for _ in range(10):
        client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)
        client.log_event("custom", {"type": "step", "data": {"name": "offline"}})
    # A flush would wait through about 20 s of retries. The deadline of close() ends them.
    with caplog.at_level(logging.WARNING, logger="agentlens"):
        pending = client.close(timeout=2)

    assert pending == 0
    assert client.stats.sent == 1
    assert client.stats.failed == 20
    assert any("failed to deliver 20 events" in record.getMessage() for record in caplog.records)
    assert client.close() == 0


def test_failure_warning_names_status_and_collector_message(
    collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(collector.url, "als_" + "0f" * 32, flush_interval=0.05)
    client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)

    with caplog.at_level(logging.WARNING, logger="agentlens"):
        client.flush()

    assert client.stats.failed == 1
    messages = [record.getMessage() for record in caplog.records]
    assert any("status 401: Invalid or revoked API key" in message for message in messages)
    client.close()


def test_late_collector_gets_retried_events(tmp_path: Path) -> None:
    server = Collector(collector_binary(), tmp_path)
    client = Client(server.url, server.api_key, flush_interval=0.05)
    try:
        for index in range(3):
            client.track_cost(
                provider="openai",
                model="gpt-4o-mini",
                input_tokens=index + 1,
                output_tokens=1,
                cost_usd="0.25",
                session_id="ses_py_late_collector",
            )
        # Nothing listens yet, so the first sends fail and the client retries them,
        # as it would across a collector restart.
        time.sleep(2)
        server.start()

        pending = client.flush(timeout=30)

        assert pending == 0
        assert client.stats.failed == 0
        assert client.stats.sent == 3
        assert len(server.events("ses_py_late_collector")) == 3
        assert server.session("ses_py_late_collector")["totalCostUsd"] == Decimal("0.75")
    finally:
        client.close()
        server.stop()


def test_dropped_client_sends_queued_events(collector: Collector) -> None:
    client = Client(collector.url, collector.api_key, flush_interval=60)
    for _ in range(3):
        client.track_cost(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1,
            output_tokens=1,
            session_id="ses_py_dropped_client",
        )

    del client
    gc.collect()

    assert len(collector.events("ses_py_dropped_client")) == 3


def test_closed_client_drops_events(collector: Collector) -> None:
    client = Client(collector.url, collector.api_key)
    client.close()

    client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)

    assert client.stats.dropped == 1
    assert client.close() == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
def test_forked_child_uses_its_own_thread(collector: Collector) -> None:
    code = """
        import os
        import agentlens

        # A long interval keeps the parent's events queued while it forks.
        client = agentlens.Client(flush_interval=60)
        for _ in range(7):
            client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=1,
                              output_tokens=1, session_id="ses_py_fork_parent")
        child = os.fork()
        if child == 0:
            client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=2,
                              output_tokens=1, session_id="ses_py_fork_child")
            pending = client.flush(timeout=10)
            stats = client.stats
            os._exit(0 if (pending, stats.sent, stats.pending) == (0, 1, 0) else 3)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert client.close() == 0
        assert client.stats.sent == 7, client.stats
    """

    finished = run_python(code, collector)

    assert finished.returncode == 0, finished.stderr
    assert len(collector.events("ses_py_fork_parent")) == 7
    assert len(collector.events("ses_py_fork_child")) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
def test_forked_child_exits_without_waiting(collector: Collector) -> None:
    # The child shuts down the parent's native client, which `_abandoned` keeps alive, and
    # then exits normally, which drops it. Both used to wait for the parent's background
    # thread until the deadline, because the child has no such thread to reply.
    code = """
        import os
        import sys
        import time
        import agentlens
        from agentlens import _client

        client = agentlens.Client(flush_interval=60)
        client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=1,
                          output_tokens=1, session_id="ses_py_fork_wait")
        child = os.fork()
        if child == 0:
            started = time.monotonic()
            _client._abandoned[-1].shutdown(20.0)
            waited = time.monotonic() - started
            sys.exit(0 if waited < 10.0 else 3)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert client.close() == 0
    """

    finished = run_python(code, collector)

    assert finished.returncode == 0, finished.stderr
    assert len(collector.events("ses_py_fork_wait")) == 1
