"""`Client.track_cost` and `Client.log_event` against the real collector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import agentlens
import pytest
from agentlens import Client, ValidationError

from .conftest import Collector


def make_client(collector: Collector, **options: Any) -> Client:
    return Client(collector.url, collector.api_key, **options)


def test_cost_arrives_exactly(collector: Collector) -> None:
    client = make_client(collector, agent_id="agent-exact")
    amounts: list[agentlens.CostUsd] = [
        Decimal("0.000000000125"),
        "0.1",
        "0.2",
        3,
        Decimal("12.345678901234"),
    ]

    for index, amount in enumerate(amounts):
        client.track_cost(
            provider="anthropic",
            model="claude-sonnet-4-5",
            input_tokens=1000 + index,
            cache_read_tokens=200,
            cache_write_5m_tokens=100,
            output_tokens=300,
            reasoning_tokens=120,
            cost_usd=amount,
            session_id="ses_py_exact",
            trigger="search",
            call_id=f"call_exact_{index}",
        )
    assert client.close() == 0

    events = collector.events("ses_py_exact")
    costs = [event["payload"]["costUsd"] for event in events]
    assert costs == [
        Decimal("0.000000000125"),
        Decimal("0.1"),
        Decimal("0.2"),
        3,
        Decimal("12.345678901234"),
    ]
    first = events[0]
    assert first["agentId"] == "agent-exact"
    assert first["payload"]["cacheReadTokens"] == 200
    assert first["payload"]["cacheWrite5mTokens"] == 100
    assert first["payload"]["reasoningTokens"] == 120
    assert first["payload"]["trigger"] == "search"
    assert first["payload"]["callId"] == "call_exact_0"
    # 0.1 + 0.2 is 0.3 here, not 0.30000000000000004.
    total = collector.session("ses_py_exact")["totalCostUsd"]
    assert total == Decimal("15.645678901359")


def test_stats_count_sent_events(collector: Collector) -> None:
    client = make_client(collector)

    for _ in range(5):
        client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)
    client.flush()

    assert client.stats == agentlens.Stats(sent=5, dropped=0, failed=0, pending=0)
    client.close()


def test_environment_supplies_settings(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTLENS_SERVER_URL", collector.url)
    monkeypatch.setenv("AGENTLENS_API_KEY", collector.api_key)
    monkeypatch.setenv("AGENTLENS_AGENT_ID", "agent-from-env")
    monkeypatch.setenv("AGENTLENS_SESSION_ID", "ses_py_from_env")
    client = Client()

    client.track_cost(provider="openai", model="gpt-4o-mini", input_tokens=10, output_tokens=5)
    client.close()

    [event] = collector.events("ses_py_from_env")
    assert event["agentId"] == "agent-from-env"
    assert client.default_session_id == "ses_py_from_env"


def test_unpriced_cost_is_not_zero(collector: Collector) -> None:
    client = make_client(collector)

    client.track_cost(
        provider="openai",
        model="model-nobody-prices",
        input_tokens=10,
        output_tokens=5,
        session_id="ses_py_unpriced",
    )
    client.close()

    session = collector.session("ses_py_unpriced")
    assert session["unpricedEventCount"] == 1
    assert session["totalCostUsd"] == 0


def test_log_event_arrives_with_metadata(collector: Collector) -> None:
    client = make_client(collector)

    client.log_event(
        "tool_call",
        {"toolName": "search", "callId": "tool_1", "arguments": {"query": "prices"}},
        session_id="ses_py_tool",
        severity="debug",
        metadata={"team": "search", "cost": Decimal("0.25")},
    )
    client.close()

    [event] = collector.events("ses_py_tool")
    assert event["eventType"] == "tool_call"
    assert event["severity"] == "debug"
    assert event["payload"]["arguments"] == {"query": "prices"}
    assert event["metadata"] == {"team": "search", "cost": Decimal("0.25")}


INVALID_COSTS = [
    ({"cost_usd": 0.1}, "cost_usd", "pass Decimal"),
    ({"cost_usd": True}, "cost_usd", "got bool"),
    ({"cost_usd": "ten cents"}, "cost_usd", "invalid amount"),
    ({"cost_usd": Decimal("-0.5")}, "cost_usd", "0 or more"),
    ({"input_tokens": -1}, "input_tokens", "whole number"),
    ({"input_tokens": 1.5}, "input_tokens", "got float"),
    ({"output_tokens": None}, "output_tokens", "got NoneType"),
    ({"cache_read_tokens": 2000}, "input_tokens", "exceed input tokens"),
    ({"cache_read_tokens": 2**53}, "cache_read_tokens", "larger than the maximum"),
    ({"cost_usd": "1.1234567890123"}, "cost_usd", "more than 12 decimal places"),
    ({"cost_usd": 10_000_000}, "cost_usd", "larger than the maximum of 9223372.036854775807 USD"),
    ({"agent_id": " "}, "agent_id", "must not be empty"),
    ({"reasoning_tokens": 600}, "reasoning_tokens", "exceed output tokens"),
    ({"provider": ""}, "provider", "must not be empty"),
    ({"model": None}, "model", "expected a str, got NoneType"),
    ({"call_id": 7}, "call_id", "expected a str, got int"),
    ({"session_id": ""}, "session_id", "must not be empty"),
]


@pytest.mark.parametrize(("override", "path", "message"), INVALID_COSTS)
def test_invalid_cost_raises_before_queueing(
    collector: Collector, override: dict[str, Any], path: str, message: str
) -> None:
    client = make_client(collector)
    arguments: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 1000,
        "output_tokens": 500,
        **override,
    }

    with pytest.raises(ValidationError) as raised:
        client.track_cost(**arguments)

    assert raised.value.path == path
    assert message in str(raised.value)
    assert raised.value.errors[0][0] == path
    assert client.flush() == 0
    assert client.stats.sent == 0
    client.close()


COLLECTOR_REJECTS: list[tuple[dict[str, Any], str, str]] = [
    ({"cost_usd": Decimal("0.0000000000001")}, "cost_usd", "more than 12 decimal places"),
    ({"cost_usd": Decimal("9223373")}, "cost_usd", "maximum of 9223372.036854775807 USD"),
    ({"input_tokens": 2**53}, "input_tokens", "larger than the maximum of 9007199254740991"),
]


def test_costs_the_collector_rejects_raise_at_the_call(collector: Collector) -> None:
    client = make_client(collector)
    arguments: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 1000,
        "output_tokens": 500,
        "session_id": "ses_py_rejected",
    }

    for override, path, message in COLLECTOR_REJECTS:
        with pytest.raises(ValidationError) as raised:
            client.track_cost(**{**arguments, **override})
        assert raised.value.path == path
        assert message in str(raised.value)
    client.track_cost(**arguments)
    assert client.close() == 0

    assert client.stats.failed == 0
    assert client.stats.sent == 1
    assert len(collector.events("ses_py_rejected")) == 1


def test_validation_error_is_an_agentlens_error() -> None:
    assert issubclass(ValidationError, agentlens.AgentLensError)
    assert issubclass(agentlens.ConfigurationError, agentlens.AgentLensError)


INVALID_EVENTS = [
    ("session_ended", {"reason": "finished"}, {}, "payload.reason"),
    ("session_ended", {}, {}, "payload.reason"),
    ("tool_call", {"toolName": "search"}, {}, "payload.callId"),
    ("no_such_type", {}, {}, "event_type"),
    ("eval_result", {}, {}, "event_type"),
    ("custom", {}, {"severity": "loud"}, "severity"),
    ("custom", {"when": object()}, {}, "payload.when"),
    ("custom", {"ratio": float("nan")}, {}, "payload.ratio"),
    ("custom", {}, {"metadata": ["not", "a", "dict"]}, "metadata"),
]


@pytest.mark.parametrize(("event_type", "payload", "options", "path"), INVALID_EVENTS)
def test_invalid_event_names_the_path(
    collector: Collector,
    event_type: str,
    payload: dict[str, Any],
    options: dict[str, Any],
    path: str,
) -> None:
    client = make_client(collector)

    with pytest.raises(ValidationError) as raised:
        client.log_event(event_type, payload, **options)

    assert path in [error_path for error_path, _ in raised.value.errors]
    assert client.flush() == 0
    assert client.stats.sent == 0
    client.close()


def test_bad_url_raises_configuration_error() -> None:
    with pytest.raises(agentlens.ConfigurationError, match="invalid server url"):
        Client("collector.local:3400")


def test_negative_flush_interval_raises_configuration_error(collector: Collector) -> None:
    with pytest.raises(agentlens.ConfigurationError, match="flush_interval"):
        make_client(collector, flush_interval=-1.0)


def test_blank_agent_id_raises_configuration_error(collector: Collector) -> None:
    with pytest.raises(agentlens.ConfigurationError, match="agent_id"):
        make_client(collector, agent_id=" ")


def test_tool_calls_are_billed_by_the_collector(collector: Collector) -> None:
    client = make_client(collector, agent_id="agent-tools")

    client.track_cost(
        provider="openai",
        model="gpt-5-mini",
        input_tokens=0,
        output_tokens=0,
        web_searches=2,
        file_searches=3,
        code_interpreter_sessions=1,
        session_id="ses_py_tools",
    )
    assert client.close() == 0

    [event] = collector.events("ses_py_tools")
    payload = event["payload"]
    assert payload["webSearches"] == 2
    assert payload["fileSearches"] == 3
    assert payload["codeInterpreterSessions"] == 1
    # Web search $10 and file search $2.50 per thousand calls, code interpreter $0.03
    # per session: 0.02 + 0.0075 + 0.03.
    assert collector.session("ses_py_tools")["totalCostUsd"] == Decimal("0.0575")


def test_negative_tool_count_names_the_argument(collector: Collector) -> None:
    client = make_client(collector)
    with pytest.raises(agentlens.ValidationError, match="file_searches"):
        client.track_cost(
            provider="openai", model="gpt-5-mini", input_tokens=1, output_tokens=1, file_searches=-1
        )
    client.close()


LONG_ID = "x" * 257


@pytest.mark.parametrize("argument", ["session_id", "agent_id"])
def test_id_over_256_characters_raises_at_the_call(collector: Collector, argument: str) -> None:
    client = make_client(collector)
    arguments: dict[str, Any] = {argument: LONG_ID}

    with pytest.raises(ValidationError) as raised:
        client.track_cost(
            provider="openai", model="gpt-4o-mini", input_tokens=10, output_tokens=5, **arguments
        )

    assert raised.value.path == argument
    assert "at most 256 characters, got 257" in str(raised.value)
    assert client.close() == 0
    assert client.stats.failed == 0


def test_long_client_agent_id_raises(collector: Collector) -> None:
    with pytest.raises(agentlens.ConfigurationError, match="agent_id must be at most 256"):
        make_client(collector, agent_id=LONG_ID)


@pytest.mark.parametrize(
    "setting",
    [
        {"batch_size": 0},
        {"batch_size": 5000},
        {"batch_size": True},
        {"queue_capacity": 0},
        {"queue_capacity": -1},
        {"queue_capacity": 2**80},
    ],
    ids=str,
)
def test_setting_out_of_range_raises_configuration_error(
    collector: Collector, setting: dict[str, Any]
) -> None:
    [name] = setting

    with pytest.raises(agentlens.ConfigurationError, match=f"invalid {name} .*expected an int"):
        make_client(collector, **setting)


def test_oversized_event_raises(collector: Collector) -> None:
    client = make_client(collector)

    with pytest.raises(ValidationError) as raised:
        client.log_event("custom", {"type": "blob", "data": {"text": "x" * 2**20}})

    assert raised.value.path == "payload"
    assert "1048563 bytes per event" in str(raised.value)
    with pytest.raises(ValidationError, match="bytes per event"):
        client.track_cost(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=10,
            output_tokens=5,
            trigger="t" * 2**20,
        )
    assert client.close() == 0
    assert client.stats.failed == 0


def test_log_event_keeps_decimal_cost_exact(collector: Collector) -> None:
    client = make_client(collector)
    cost = Decimal("1234567.123456789012")

    client.log_event(
        "cost_tracked",
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "inputTokens": 10,
            "outputTokens": 5,
            "totalTokens": 15,
            "costUsd": cost,
        },
        session_id="ses_py_exact_decimal",
    )
    client.close()

    [event] = collector.events("ses_py_exact_decimal")
    assert Decimal(str(event["payload"]["costUsd"])) == cost
    assert collector.session("ses_py_exact_decimal")["totalCostUsd"] == cost
