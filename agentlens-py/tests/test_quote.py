"""`agentlens.quote()`: exact prices from the embedded table."""

from __future__ import annotations

import datetime
from decimal import Decimal

import agentlens
import pytest


def test_known_model_has_exact_breakdown() -> None:
    # claude-haiku-4-5: $1/MTok input, $0.10/MTok cache read, $1.25/MTok 5-minute cache
    # write, $5/MTok output. Anthropic's input_tokens excludes the cache:
    #   1000 * 1 + 2000 * 0.10 + 400 * 1.25 + 300 * 5 = 1000 + 200 + 500 + 1500 (per 1e6)
    usage = {
        "input_tokens": 1000,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 400,
        "output_tokens": 300,
    }

    quote = agentlens.quote("anthropic", "claude-haiku-4-5", usage)

    assert quote.cost_usd == Decimal("0.0032")
    assert quote.breakdown["input"] == Decimal("0.001")
    assert quote.breakdown["cache_read"] == Decimal("0.0002")
    assert quote.breakdown["cache_write_5m"] == Decimal("0.0005")
    assert quote.breakdown["output"] == Decimal("0.0015")
    assert quote.provider == "anthropic"
    assert quote.pricing_version == agentlens.PRICING_VERSION
    assert isinstance(quote.cost_usd, Decimal)


def test_unknown_model_is_none_not_zero() -> None:
    quote = agentlens.quote(
        "openai", "gpt-nonexistent", {"prompt_tokens": 5, "completion_tokens": 5}
    )

    assert quote.cost_usd is None
    assert quote.unpriced_reason is not None
    assert "gpt-nonexistent" in quote.unpriced_reason
    assert quote.model == "gpt-nonexistent"
    assert "cost_usd=None" in repr(quote)


def test_time_of_call_is_accepted() -> None:
    at = datetime.datetime(2026, 2, 10, 12, tzinfo=datetime.timezone.utc)

    quote = agentlens.quote(
        "openai", "gpt-4o-mini", {"prompt_tokens": 1000, "completion_tokens": 200}, at
    )

    assert quote.cost_usd == Decimal("0.00027")


def test_naive_time_is_rejected() -> None:
    with pytest.raises(agentlens.ValidationError, match="timezone-aware") as raised:
        agentlens.quote(
            "openai", "gpt-4o-mini", {"prompt_tokens": 1}, datetime.datetime(2026, 2, 10)
        )

    assert raised.value.path == "at"


def test_provider_may_be_omitted() -> None:
    quote = agentlens.quote(None, "gpt-4o-mini", {"prompt_tokens": 1000, "completion_tokens": 200})

    assert quote.cost_usd == Decimal("0.00027")


def test_normalized_usage_bills_tool_calls() -> None:
    # gpt-4o: $2.50/MTok input, $1.25/MTok cached input, $10/MTok output; web search $10
    # and file search $2.50 per thousand calls; code interpreter $0.03 per session.
    # inputTokens counts the 900 cached tokens, as in POST /api/pricing/quote:
    #   100 * 2.50 / 1e6 + 900 * 1.25 / 1e6 + 100 * 10 / 1e6 = 0.00025 + 0.001125 + 0.001
    #   3 * 0.01 + 2 * 0.0025 + 1 * 0.03 = 0.065
    usage = {
        "inputTokens": 1000,
        "cacheReadTokens": 900,
        "outputTokens": 100,
        "webSearches": 3,
        "fileSearches": 2,
        "codeInterpreterSessions": 1,
    }

    quote = agentlens.quote("openai", "gpt-4o", usage)

    assert quote.cost_usd == Decimal("0.067375")


def test_normalized_usage_error_names_the_key() -> None:
    usage = {"inputTokens": 1, "outputTokens": 1, "webSearches": -1}
    with pytest.raises(agentlens.ValidationError, match="usage.webSearches"):
        agentlens.quote("openai", "gpt-4o", usage)
