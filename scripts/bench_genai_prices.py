#!/usr/bin/env python3
"""Times genai-prices' `calc_price` on the inputs of `cargo bench -p agentlens-core --bench pricing`.

Each case prices the same usage as the criterion benchmark (2,006 prompt tokens of which 1,920
are cache reads, 300 output tokens, at 2026-02-10T12:00:00Z) with the same provider and model
spelling. `timeit.repeat` runs every case in batches after one warm-up call, and the script
prints the median time per call over the batches, so the numbers describe a warm process as
criterion's do.

Run from the repository root with the interpreter of a virtual environment that has
genai-prices 0.2.3 installed:

    python3 -m venv target/price-venv
    target/price-venv/bin/pip install genai-prices==0.2.3
    target/price-venv/bin/python scripts/bench_genai_prices.py
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import statistics
import timeit

import genai_prices
from genai_prices import Usage

AT = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.timezone.utc)
USAGE = Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300)
UNKNOWN_USAGE = Usage(input_tokens=10_000, output_tokens=1_000)

# Name, provider id (None searches every provider), model, usage: the criterion cases.
CASES = [
    ("quote_openai_dated_id", "openai", "gpt-4o-2024-08-06", USAGE),
    ("quote_anthropic_dated_id", "anthropic", "claude-haiku-4-5-20251001", USAGE),
    ("quote_without_provider", None, "gpt-4o", USAGE),
    ("quote_tiered_gemini", "vertex_ai", "gemini-2.5-pro", USAGE),
    ("quote_unknown_model", "anthropic", "claude-nonexistent-9-20990101", UNKNOWN_USAGE),
]

BATCH = 2_000
BATCHES = 15


def price(provider: str | None, model: str, usage: Usage) -> object:
    """Prices one call; an unknown model raises LookupError, which counts as a finished call."""
    try:
        return genai_prices.calc_price(
            usage, model, provider_id=provider, genai_request_timestamp=AT
        )
    except LookupError as error:
        return error


def main() -> None:
    version = importlib.metadata.version("genai-prices")
    print(f"genai-prices {version}, {BATCHES} batches of {BATCH} calls per case")
    for name, provider, model, usage in CASES:
        result = price(provider, model, usage)
        timings = timeit.repeat(
            lambda: price(provider, model, usage), number=BATCH, repeat=BATCHES
        )
        per_call_ns = statistics.median(timings) / BATCH * 1e9
        total = getattr(result, "total_price", result)
        print(f"{name}\t{per_call_ns:,.0f} ns\t{total}")


if __name__ == "__main__":
    main()
