"""Reads LiteLLM's price JSON and converts its entries into price-table models.

LiteLLM ships `model_prices_and_context_window_backup.json` inside its PyPI wheel. This module
fetches the wheel with `pip download --no-deps` and reads only that JSON member out of the zip
archive; no LiteLLM code is imported or executed. `build_prices.py` uses it as the second source
of the merged table.

Key mapping rules (LiteLLM key -> provider id + model id):

1. The provider comes from the entry's `litellm_provider` through `PROVIDER_IDS`, which folds
   LiteLLM's route names onto the genai-prices ids (`bedrock` and `bedrock_converse` -> `aws`,
   `gemini`, `palm` and every `vertex_ai-*` family -> `google`, `xai` -> `x-ai`,
   `together_ai` -> `together`, `codestral` -> `mistral`, ...). A provider that is not listed
   keeps its LiteLLM name, such as `deepinfra` or `vercel_ai_gateway`.
2. The model id is the key without its leading route segment when that segment names the route
   (`bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0` -> `us.anthropic.claude-...`,
   `vertex_ai/claude-3-5-sonnet@20240620` -> `claude-3-5-sonnet@20240620`,
   `openrouter/anthropic/claude-3.5-sonnet` -> `anthropic/claude-3.5-sonnet`). Keys without a
   route segment (`gpt-4o`) are model ids already.
3. Keys that carry a deployment region, a data zone or a commitment term (`bedrock/us-east-1/...`,
   `bedrock/*/1-month-commitment/...`, `azure/eu/...`, `azure/global-standard/...`) and image keys
   with a quality or size segment (`azure/hd/1024-x-1024/dall-e-3`) are skipped: the table has no
   region, commitment or image-size dimension.
4. Entries without a price that `Usage` can bill (per-token input, output or cache rates, a
   per-query or per-request fee) are skipped, for example per-second audio or per-image entries.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

PACKAGE = "litellm"
# Released in November 2025. litellm 1.107.0 was a compromised release and must never be used.
VERSION = "1.80.0"
BLOCKED_VERSIONS = {"1.107.0"}
MEMBER = "litellm/model_prices_and_context_window_backup.json"

# LiteLLM `litellm_provider` -> provider id of the merged table.
PROVIDER_IDS = {
    "anthropic": "anthropic",
    "azure": "azure",
    "azure_text": "azure",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "cerebras": "cerebras",
    "cloudflare": "cloudflare",
    "codestral": "mistral",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "databricks": "databricks",
    "deepseek": "deepseek",
    "elevenlabs": "elevenlabs",
    "fireworks_ai": "fireworks",
    "fireworks_ai-embedding-models": "fireworks",
    "gemini": "google",
    "groq": "groq",
    "meta_llama": "meta",
    "mistral": "mistral",
    "moonshot": "moonshotai",
    "openai": "openai",
    "openrouter": "openrouter",
    "ovhcloud": "ovhcloud",
    "palm": "google",
    "perplexity": "perplexity",
    "text-completion-codestral": "mistral",
    "text-completion-openai": "openai",
    "together_ai": "together",
    "vertex_ai": "google",
    "voyage": "voyageai",
    "xai": "x-ai",
}

# Leading key segments that name a route rather than part of the model id, by LiteLLM provider.
ROUTE_SEGMENTS = {
    "bedrock_converse": {"bedrock"},
    "fireworks_ai-embedding-models": {"fireworks_ai"},
    "text-completion-codestral": {"text-completion-codestral", "codestral"},
    "cohere_chat": {"cohere"},
    "azure_text": {"azure"},
}

REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
SKIPPED_SEGMENTS = re.compile(
    r"^(\*|\d+-month-commitment|eu|us|global|global-standard|data-zone|"
    r"\d+-x-\d+|max-x-max|low|medium|high|hd|standard|\d+-steps)$"
)
TIER = re.compile(r"^(.*)_above_(\d+)k_tokens$")

# LiteLLM per-token keys -> genai-prices price keys (per million tokens).
TOKEN_KEYS = {
    "input_cost_per_token": "input_mtok",
    "output_cost_per_token": "output_mtok",
    "cache_read_input_token_cost": "cache_read_mtok",
    "cache_creation_input_token_cost": "cache_write_mtok",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h_mtok",
    "output_cost_per_reasoning_token": "output_reasoning_mtok",
}


def load_entries(cache_dir: Path) -> dict:
    """Returns the parsed price JSON of the pinned LiteLLM wheel, downloading the wheel once."""
    if VERSION in BLOCKED_VERSIONS:
        sys.exit(f"{PACKAGE} {VERSION} is a compromised release; pin another version")
    wheel = cache_dir / f"{PACKAGE}-{VERSION}-py3-none-any.whl"
    if not wheel.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run([*pip, f"{PACKAGE}=={VERSION}", "-d", str(cache_dir)], check=True)
    with zipfile.ZipFile(wheel) as archive:
        return json.loads(archive.read(MEMBER))


def provider_and_model(key: str, entry: dict) -> tuple[str, str] | None:
    """Maps a LiteLLM key to `(provider id, model id)`, or `None` for a skipped key."""
    route = entry.get("litellm_provider")
    if not isinstance(route, str) or " " in route:
        return None
    family = route.split("-", 1)[0] if route.startswith("vertex_ai-") else route
    provider = PROVIDER_IDS.get(family, family)

    segments = key.split("/")
    routes = {route, family} | ROUTE_SEGMENTS.get(route, set())
    if len(segments) > 1 and segments[0] in routes:
        segments = segments[1:]
    if any(REGION.match(part) or SKIPPED_SEGMENTS.match(part) for part in segments[:-1]):
        return None
    model = "/".join(segments).strip()
    if not model:
        return None
    return provider, model


def convert_rates(entry: dict) -> dict:
    """Returns the genai-prices price keys of an entry, with rates as decimal strings."""
    rates: dict = {}
    for source, target in TOKEN_KEYS.items():
        if isinstance(entry.get(source), (int, float)):
            rates[target] = per_million(entry[source])
    for key, value in entry.items():
        tier = TIER.match(key)
        if tier is None or not isinstance(value, (int, float)):
            continue
        target = TOKEN_KEYS.get(tier.group(1))
        if target is None or target not in rates:
            continue
        add_tier(rates, target, int(tier.group(2)) * 1000, per_million(value))
    add_range_tiers(rates, entry.get("tiered_pricing"))

    search = entry.get("search_context_cost_per_query")
    if isinstance(search, dict) and isinstance(search.get("search_context_size_medium"), float):
        # LiteLLM bills the medium search context when the request does not choose one.
        rates["web_searches_kcount"] = scaled(search["search_context_size_medium"], 1000)
    for fee in ("input_cost_per_query", "input_cost_per_request"):
        if isinstance(entry.get(fee), (int, float)):
            rates["requests_kcount"] = scaled(entry[fee], 1000)
    return rates


def add_tier(rates: dict, key: str, start: int, price: str) -> None:
    current = rates[key]
    if isinstance(current, str):
        current = {"base": current, "tiers": []}
    current["tiers"] = sorted([*current["tiers"], {"start": start, "price": price}],
                              key=lambda tier: tier["start"])
    rates[key] = current


def add_range_tiers(rates: dict, tiers) -> None:
    """Converts `tiered_pricing` ranges (`[start, end)` prompt sizes) into tiered rates."""
    if not isinstance(tiers, list) or not tiers:
        return
    ordered = sorted(tiers, key=lambda tier: tier.get("range", [0])[0])
    for source, target in (("input_cost_per_token", "input_mtok"),
                           ("output_cost_per_token", "output_mtok")):
        prices = [tier.get(source) for tier in ordered]
        if not all(isinstance(price, (int, float)) for price in prices):
            continue
        rates[target] = per_million(prices[0])
        for tier, price in zip(ordered[1:], prices[1:]):
            add_tier(rates, target, int(tier["range"][0]), per_million(price))


def per_million(value: float) -> str:
    return scaled(value, 1_000_000)


def scaled(value: float, factor: int) -> str:
    """Multiplies a JSON float by `factor` exactly and rounds away binary float noise.

    `Decimal(str(value))` starts from the shortest text that round-trips the float. The result
    is then rounded to the fewest significant digits (at most 15) that stay within one part in
    10^12 of the exact product, so 7.999999999999999e-07 per token becomes 0.8 per million.
    """
    exact = Decimal(str(value)) * factor
    if exact == 0:
        return "0"
    for digits in range(1, 16):
        rounded = round(exact, digits - exact.adjusted() - 1)
        if abs(rounded - exact) <= abs(exact) * Decimal("1e-12"):
            return decimal_text(rounded)
    return decimal_text(exact)


def decimal_text(value: Decimal) -> str:
    """Formats a decimal in plain notation without an exponent or trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def has_billable_rate(rates: dict) -> bool:
    billable = {"input_mtok", "output_mtok", "requests_kcount", "web_searches_kcount"}
    return any(key in rates for key in billable)


def model_aliases(provider: str, model: str) -> dict:
    """Returns the match clause of a LiteLLM model: its id, and for path ids also the last
    segment unless the provider is a router whose ids keep the vendor prefix."""
    routers = {"openrouter", "vercel_ai_gateway"}
    last = model.rsplit("/", 1)[-1]
    if last == model or provider in routers:
        return {"equals": model.lower()}
    return {"or": [{"equals": model.lower()}, {"equals": last.lower()}]}
