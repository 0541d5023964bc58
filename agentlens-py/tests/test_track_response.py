"""`Client.track_response` with responses recorded from the real provider APIs.

The fixtures come from the Vercel AI SDK test suite (see SOURCES.md in
$AGENTLENS_TEST_DATA). Each expected cost is worked out by hand from the provider's
published list price per million tokens (MTok), in force when the response was created.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest
from agentlens import Client, ValidationError

from .conftest import Collector

VERCEL_FIXTURES = "provider-responses/vercel-ai/packages"


class Recorded(NamedTuple):
    path: str
    provider: str
    model: str
    cost: Decimal


RECORDED = [
    # OpenAI Chat Completions, gpt-4.1-nano: $0.10/MTok input, $0.40/MTok output.
    # 16 prompt tokens * 0.10 / 1e6 + 363 completion tokens * 0.40 / 1e6
    #   = 0.0000016 + 0.0001452 = 0.0001468
    Recorded(
        "openai/src/chat/__fixtures__/openai-text.json",
        "openai",
        "gpt-4.1-nano-2025-04-14",
        Decimal("0.0001468"),
    ),
    # OpenAI Responses API, gpt-5-mini: $0.25/MTok input, $0.025/MTok cached input,
    # $2.00/MTok output. 3700 input tokens of which 2560 cached, 741 output tokens
    # (640 of them reasoning, billed as output), and one `file_search_call` output item
    # at $2.50 per thousand calls (its four queries are one call):
    #   1140 * 0.25 / 1e6 + 2560 * 0.025 / 1e6 + 741 * 2.00 / 1e6 + 1 * 2.50 / 1000
    #   = 0.000285 + 0.000064 + 0.001482 + 0.0025 = 0.004331
    Recorded(
        "openai/src/responses/__fixtures__/openai-file-search-tool.1.json",
        "openai",
        "gpt-5-mini-2025-08-07",
        Decimal("0.004331"),
    ),
    # Anthropic Messages, claude-sonnet-4-5: $3/MTok input, $15/MTok output.
    # 12 * 3 / 1e6 + 29 * 15 / 1e6 = 0.000036 + 0.000435 = 0.000471
    Recorded(
        "anthropic/src/__fixtures__/anthropic-text.json",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        Decimal("0.000471"),
    ),
    # Gemini, gemini-3-pro-preview: $2/MTok input and $12/MTok output (prompts up to
    # 200k tokens). 9 prompt tokens; output is 28 candidate + 244 thought tokens:
    #   9 * 2 / 1e6 + 272 * 12 / 1e6 = 0.000018 + 0.003264 = 0.003282
    Recorded(
        "google/src/__fixtures__/google-text.json",
        "google",
        "gemini-3-pro-preview",
        Decimal("0.003282"),
    ),
]


def load_recorded(path: str) -> dict[str, Any]:
    root = os.environ.get("AGENTLENS_TEST_DATA")
    if not root:
        pytest.skip("AGENTLENS_TEST_DATA is not set; recorded provider responses are missing")
    file = Path(root) / VERCEL_FIXTURES / path
    if not file.exists():
        pytest.skip(f"recorded response {file} is missing")
    body: dict[str, Any] = json.loads(file.read_text())
    return body


@pytest.mark.parametrize(
    "recorded", RECORDED, ids=lambda recorded: recorded.provider + "-" + recorded.model
)
def test_recorded_response_costs_exactly(collector: Collector, recorded: Recorded) -> None:
    response = load_recorded(recorded.path)
    client = Client(collector.url, collector.api_key)
    session_id = f"ses_py_recorded_{recorded.model}"

    quote = client.track_response(response, session_id=session_id)
    client.close()

    assert quote.cost_usd == recorded.cost
    assert quote.unpriced_reason is None
    assert sum(quote.breakdown.values()) == recorded.cost
    [event] = collector.events(session_id)
    payload = event["payload"]
    assert payload["provider"] == recorded.provider
    assert payload["model"] == recorded.model
    assert payload["costUsd"] == recorded.cost
    assert collector.session(session_id)["totalCostUsd"] == recorded.cost


def test_response_id_becomes_call_id(collector: Collector) -> None:
    response = load_recorded(RECORDED[0].path)
    client = Client(collector.url, collector.api_key)

    client.track_response(response, session_id="ses_py_call_id")
    client.close()

    [event] = collector.events("ses_py_call_id")
    assert event["payload"]["callId"] == response["id"]


class PydanticLike:
    """Stands in for an SDK response: only `model_dump` is used."""

    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body

    def model_dump(self, mode: str = "python", by_alias: bool = False) -> dict[str, Any]:
        return self._body


def namespace(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{key: namespace(item) for key, item in value.items()})
    return value


@pytest.mark.parametrize("wrap", [PydanticLike, namespace], ids=["model_dump", "attributes"])
def test_sdk_objects_are_read(collector: Collector, wrap: Any) -> None:
    recorded = RECORDED[2]
    response = wrap(load_recorded(recorded.path))
    client = Client(collector.url, collector.api_key)

    quote = client.track_response(response, session_id=f"ses_py_object_{wrap.__name__}")
    client.close()

    assert quote.cost_usd == recorded.cost


def test_snake_case_gemini_usage_is_read() -> None:
    response = {
        "model_version": "gemini-3-pro-preview",
        "usage_metadata": {
            "prompt_token_count": 9,
            "candidates_token_count": 28,
            "thoughts_token_count": 244,
        },
    }
    client = Client("http://127.0.0.1:9")

    quote = client.track_response(response)
    client.close(timeout=0.1)

    assert quote.cost_usd == Decimal("0.003282")


def test_unknown_model_is_unpriced(collector: Collector) -> None:
    response = {
        "id": "chatcmpl-unknown",
        "object": "chat.completion",
        "model": "model-nobody-prices",
        "usage": {"prompt_tokens": 100, "completion_tokens": 20},
    }
    client = Client(collector.url, collector.api_key)

    quote = client.track_response(response, session_id="ses_py_response_unpriced")
    client.close()

    assert quote.cost_usd is None
    assert quote.breakdown == {}
    assert quote.unpriced_reason is not None and "model-nobody-prices" in quote.unpriced_reason
    [event] = collector.events("ses_py_response_unpriced")
    assert "costUsd" not in event["payload"]
    assert collector.session("ses_py_response_unpriced")["unpricedEventCount"] == 1


@pytest.mark.parametrize(
    ("response", "path"),
    [
        ({"usage": {"prompt_tokens": 1, "completion_tokens": 1}}, "model"),
        ({"model": "gpt-4o"}, "usage"),
        (
            {"model": "gpt-4o", "usage": {"completion_tokens": 1}},
            "usage.prompt_tokens or input_tokens",
        ),
        ({"model": "gpt-4o", "usage": {"prompt_tokens": -3}}, "usage.prompt_tokens"),
        ("not a response", "response"),
    ],
)
def test_unreadable_response_raises(response: Any, path: str) -> None:
    client = Client("http://127.0.0.1:9")

    with pytest.raises(ValidationError) as raised:
        client.track_response(response)

    assert raised.value.path == path
    client.close(timeout=0.1)


ALIBABA_REASONING = "alibaba/src/__fixtures__/alibaba-reasoning.json"


def test_resold_model_without_provider_unpriced(collector: Collector) -> None:
    response = load_recorded(ALIBABA_REASONING)
    client = Client(collector.url, collector.api_key)

    quote = client.track_response(response, session_id="ses_py_qwen_unnamed")
    client.close()

    assert quote.cost_usd is None
    assert quote.unpriced_reason is not None
    assert "dashscope" in quote.unpriced_reason
    [event] = collector.events("ses_py_qwen_unnamed")
    assert event["payload"]["provider"] == "unknown"
    assert "costUsd" not in event["payload"]


def test_resold_model_with_provider_priced() -> None:
    response = load_recorded(ALIBABA_REASONING)
    client = Client("http://127.0.0.1:9")

    quote = client.track_response(response, provider="alibaba")
    client.close(timeout=0.1)

    assert quote.provider == "dashscope"
    assert quote.cost_usd is not None


def test_openai_shape_takes_the_model_maker() -> None:
    response = load_recorded("xai/src/__fixtures__/xai-text.json")
    client = Client("http://127.0.0.1:9")

    quote = client.track_response(response)
    client.close(timeout=0.1)

    assert quote.provider == "x-ai"


@pytest.mark.parametrize("created", [1770764902000, float("inf"), float("nan"), 10**400], ids=str)
def test_created_outside_unix_seconds_names_the_unit(created: Any) -> None:
    response = {
        "model": "gpt-4o-mini",
        "created": created,
        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
    }
    client = Client("http://127.0.0.1:9")

    with pytest.raises(ValidationError) as raised:
        client.track_response(response)

    assert raised.value.path == "created"
    assert "expected Unix seconds" in str(raised.value)
    client.close(timeout=0.1)


def test_session_id_over_256_characters_raises() -> None:
    response = {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}
    client = Client("http://127.0.0.1:9")

    with pytest.raises(ValidationError) as raised:
        client.track_response(response, session_id="x" * 257)

    assert raised.value.path == "session_id"
    assert "at most 256 characters, got 257" in str(raised.value)
    client.close(timeout=0.1)
