#!/usr/bin/env python3
"""Computes the expected cost of a Claude Code projects folder, independently of AgentLens.

The end-to-end import test compares the collector's answers with this script's output.
It shares no code and no price table with AgentLens: the rates below were typed from
Anthropic's published price list (https://platform.claude.com/docs/en/about-claude/pricing,
read 2026-12-04) for standard, non-batch requests with prompts under 200k tokens, which is
true of every request in the test data (the largest prompt there is 173,514 tokens).

Rules, in USD per million tokens:
  - `input_tokens` (uncached) at the input rate;
  - `cache_creation.ephemeral_5m_input_tokens` at 1.25x input, `ephemeral_1h_input_tokens`
    at 2x input (all of `cache_creation_input_tokens` counts as 5-minute writes when the
    split is absent);
  - `cache_read_input_tokens` at 0.1x input;
  - `output_tokens` at the output rate.
Only top-level `"type": "assistant"` lines count. Streamed copies of one message share
(message.id, requestId); the last copy in file order holds the final usage.

Usage: python3 scripts/claude_code_expected.py DIR   (prints JSON)
"""

import json
import pathlib
import sys
from collections import defaultdict
from decimal import Decimal

# model prefix -> (input, output) USD per million tokens
RATES = {
    "claude-opus-4-6": (Decimal("5"), Decimal("25")),
    "claude-sonnet-4-5": (Decimal("3"), Decimal("15")),
    "claude-haiku-4-5": (Decimal("1"), Decimal("5")),
}
MILLION = Decimal(1_000_000)


def rates_for(model):
    for prefix, rates in RATES.items():
        if model == prefix or model.startswith(prefix + "-20"):
            return rates
    raise SystemExit(f"no rate typed in for model {model!r}")


def main(root):
    messages = {}
    for path in sorted(pathlib.Path(root).rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            message = record.get("message")
            if record.get("type") != "assistant" or not isinstance(message, dict):
                continue
            if not message.get("usage"):
                continue
            key = (message.get("id"), record.get("requestId"))
            messages[key] = (message["model"], message["usage"], record["timestamp"])

    totals = defaultdict(int)
    cost_total = Decimal(0)
    by_model = defaultdict(Decimal)
    by_day = defaultdict(Decimal)
    for model, usage, timestamp in messages.values():
        rate_in, rate_out = rates_for(model)
        split = usage.get("cache_creation") or {}
        write_1h = split.get("ephemeral_1h_input_tokens", 0)
        write_5m = usage.get("cache_creation_input_tokens", 0) - write_1h
        read = usage.get("cache_read_input_tokens", 0)
        uncached = usage["input_tokens"]
        output = usage["output_tokens"]
        cost = (
            uncached * rate_in
            + write_5m * rate_in * Decimal("1.25")
            + write_1h * rate_in * 2
            + read * rate_in * Decimal("0.1")
            + output * rate_out
        ) / MILLION
        totals["uncached_input"] += uncached
        totals["cache_write_5m"] += write_5m
        totals["cache_write_1h"] += write_1h
        totals["cache_read"] += read
        totals["output"] += output
        cost_total += cost
        by_model[model] += cost
        by_day[timestamp[:10]] += cost

    print(json.dumps({
        "messages": len(messages),
        "tokens": totals,
        "input_tokens_all": totals["uncached_input"] + totals["cache_write_5m"]
        + totals["cache_write_1h"] + totals["cache_read"],
        "total_usd": str(cost_total.normalize()),
        "by_model": {k: str(v.normalize()) for k, v in sorted(by_model.items())},
        "by_day_utc": {k: str(v.normalize()) for k, v in sorted(by_day.items())},
    }, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
