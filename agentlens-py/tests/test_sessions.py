"""`Client.session()` as a context manager, sync and async."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from agentlens import Client

from .conftest import Collector


def test_session_completes(collector: Collector) -> None:
    client = Client(collector.url, collector.api_key, agent_id="agent-default")

    with client.session(
        agent_id="agent-session", tags=["nightly", "eval"], agent_name="Evaluator"
    ) as session:
        session.track_cost(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1000,
            output_tokens=200,
            cost_usd=Decimal("0.00027"),
        )
        session.log_event("custom", {"type": "step", "data": {"name": "grading"}})
    client.close()

    events = collector.events(session.id)
    assert [event["eventType"] for event in events] == [
        "session_started",
        "cost_tracked",
        "custom",
        "session_ended",
    ]
    assert {event["agentId"] for event in events} == {"agent-session"}
    assert events[0]["payload"] == {"agentName": "Evaluator", "tags": ["nightly", "eval"]}
    assert events[-1]["payload"]["reason"] == "completed"
    stored = collector.session(session.id)
    assert stored["status"] == "completed"
    assert stored["agentName"] == "Evaluator"
    assert stored["tags"] == ["nightly", "eval"]
    assert stored["totalCostUsd"] == Decimal("0.00027")


def test_session_records_error_and_reraises(collector: Collector) -> None:
    client = Client(collector.url, collector.api_key)

    with pytest.raises(KeyError):
        with client.session() as session:
            session.log_event("custom", {"type": "step", "data": {"name": "lookup"}})
            raise KeyError("missing")
    client.close()

    ended = collector.events(session.id, event_type="session_ended")
    assert ended[0]["payload"]["reason"] == "error"
    assert ended[0]["payload"]["summary"] == "KeyError"
    assert ended[0]["severity"] == "error"
    assert collector.session(session.id)["status"] == "error"


def test_async_session(collector: Collector) -> None:
    client = Client(collector.url, collector.api_key)

    async def agent() -> str:
        async with client.session(agent_name="async agent") as session:
            session.track_cost(
                provider="openai", model="gpt-4o-mini", input_tokens=10, output_tokens=5
            )
            await asyncio.sleep(0)
        return session.id

    session_id = asyncio.run(agent())
    client.close()

    events = collector.events(session_id)
    assert [event["eventType"] for event in events] == [
        "session_started",
        "cost_tracked",
        "session_ended",
    ]
    assert collector.session(session_id)["status"] == "completed"


def test_events_outside_sessions_share_default_session(collector: Collector) -> None:
    client = Client(collector.url, collector.api_key)

    client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=10, output_tokens=5)
    client.log_event("custom", {"type": "step", "data": {"name": "after"}})
    client.close()

    assert client.default_session_id.startswith("ses_")
    assert len(collector.events(client.default_session_id)) == 2
