"""Reads LiteLLM's price JSON and converts its entries into price-table models.

LiteLLM ships `model_prices_and_context_window_backup.json` inside its PyPI wheel. This module
fetches the wheel with `pip download --no-deps` and reads only that JSON member out of the zip
archive; no LiteLLM code is imported or executed. `build_prices.py` uses it as the second source
of the merged table.

Key mapping rules (LiteLLM key -> provider id + model id):

1. The provider comes from the entry's `litellm_provider` through `PROVIDER_IDS`, which folds
   the routes of one vendor onto one id and uses the genai-prices id where one exists
   (`bedrock`, `bedrock_converse` and `bedrock_mantle` -> `aws`; `gemini`, `palm` and every
   `vertex_ai-*` family -> `google`; `azure_ai` -> `azure`; `xai` -> `x-ai`, ...). A provider
   that is not listed keeps its LiteLLM name, such as `deepinfra` or `nebius`. When two keys
   fold onto the same provider and model, the first wins, except that a secondary endpoint
   (`SECONDARY_ROUTES`) never wins over the vendor's main API.
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
   per-query or per-request fee) are skipped, for example per-second audio, per-image and
   per-pixel entries. The exception is a `<route>/container` entry: LiteLLM lists the code
   interpreter fee of a whole provider there (`openai/container`, `azure/container`) and
   bills it for any model of that provider, so `provider_tool_rates` returns it per provider
   and it applies to every model of the provider that has no fee of its own.
5. Entries whose rates are all zero are skipped as placeholders: LiteLLM writes $0 for models
   it has no price for (self-hosted servers, previews, embeddings of unpriced vendors), and
   an unknown price must stay unknown rather than cost $0. An all-zero entry is kept only when
   it is documented as free: its model id ends in `:free` or `-free` (as OpenRouter and
   OpenCode name free offerings), or its `metadata.notes` state that it is free.
6. Per-token keys map onto genai-prices price keys (`TOKEN_KEYS`), including the audio, image,
   video and reasoning units, and `*_above_<N>k_tokens` keys become prompt-size tiers. The
   `_flex`, `_priority` and `_batches` forms become genai-prices price variants for
   `service_tier` flex and priority and for batch processing.
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
# The newest release on PyPI when it was pinned, on 2026-12-05. The table was last
# regenerated from it on 2026-12-06, when $0 placeholders were left out.
VERSION = "1.110.2"
# litellm 1.82.7 and 1.82.8 were published to PyPI on 2026-03-24 from a hijacked maintainer
# account. Both carry a `.pth` file that runs a credential stealer at Python start-up, so
# they must never be downloaded, let alone installed.
BLOCKED_VERSIONS = {"1.82.7", "1.82.8"}
MEMBER = "litellm/model_prices_and_context_window_backup.json"
# litellm 1.110 ships platform wheels only. Naming one platform makes `pip download` fetch
# the same file on every machine, and `--only-binary` keeps pip from building (and so
# running) a source distribution.
WHEEL_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                  "--implementation", "cp", "--only-binary=:all:"]

# LiteLLM `litellm_provider` -> provider id of the merged table. The routes of one vendor fold
# onto one id. For AWS these are Bedrock, its OpenAI-compatible Mantle endpoint, AgentCore,
# the Nova API and SageMaker. For Google they are the Gemini API, Vertex AI with its model
# families and Programmable Search. For Microsoft Azure they are Azure OpenAI, Azure AI
# Foundry and Grounding with Bing, and for Alibaba Cloud its three Qwen API names. Names that
# match a genai-prices provider take its id.
PROVIDER_IDS = {
    "agentcore": "aws",
    "amazon_nova": "aws",
    "anthropic": "anthropic",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_text": "azure",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "bedrock_mantle": "aws",
    "bigmodel": "zhipuai",
    "bing_grounding": "azure",
    "cerebras": "cerebras",
    "chatgpt": "openai",
    "clf_ai_gateway": "cloudflare",
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
    "github_copilot": "github-copilot",
    "google_pse": "google",
    "groq": "groq",
    "meta_llama": "meta",
    "mistral": "mistral",
    "moonshot": "moonshotai",
    "openai": "openai",
    "openrouter": "openrouter",
    "ovhcloud": "ovhcloud",
    "palm": "google",
    "perplexity": "perplexity",
    "qwen_ai_platform": "dashscope",
    "qwencloud": "dashscope",
    "sagemaker": "aws",
    "text-completion-codestral": "mistral",
    "text-completion-inception": "inception",
    "text-completion-openai": "openai",
    "together_ai": "together",
    "vertex_ai": "google",
    "voyage": "voyageai",
    "xai": "x-ai",
}

# Secondary endpoints of a vendor whose prices can differ from its main API for the same model
# id: Bedrock's Mantle endpoint, Azure AI Foundry and the second and third spellings of
# Alibaba's Qwen API. After folding, the main API's entry wins a shared model id.
SECONDARY_ROUTES = {"azure_ai", "bedrock_mantle", "clf_ai_gateway", "qwen_ai_platform", "qwencloud"}

# Leading key segments that name a route rather than part of the model id, by LiteLLM provider.
ROUTE_SEGMENTS = {
    "amazon_nova": {"amazon-nova"},
    "azure_text": {"azure"},
    "bedrock_converse": {"bedrock"},
    "cohere_chat": {"cohere"},
    "fireworks_ai-embedding-models": {"fireworks_ai"},
    "text-completion-codestral": {"text-completion-codestral", "codestral"},
}

REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
SKIPPED_SEGMENTS = re.compile(
    r"^(\*|\d+-month-commitment|eu|us|global|global-standard|data-zone|"
    r"\d+-x-\d+|max-x-max|low|medium|high|hd|standard|\d+-steps)$"
)
# A price key: a base key, an optional prompt-size threshold and an optional price variant,
# such as `input_cost_per_token_above_272k_tokens_priority`.
PRICE_KEY = re.compile(
    r"^(?P<base>.+?)(?:_above_(?P<thousands>\d+)k_tokens)?(?:_(?P<variant>flex|priority|batches))?$"
)

# LiteLLM per-token keys -> genai-prices price keys (per million tokens). Each pair names the
# same unit. LiteLLM bills audio, image and video tokens, cached audio and image reads and
# reasoning tokens at these rates. It bills the rest of the prompt or completion at the text
# rate, as genai-prices does with its modality and reasoning units. Keys for units genai-prices
# has no name for (12-hour cache writes, `_ultrafast`, `_decisions` and `_balanced` tiers,
# DBU and character prices) are left out.
TOKEN_KEYS = {
    "input_cost_per_token": "input_mtok",
    "output_cost_per_token": "output_mtok",
    "cache_read_input_token_cost": "cache_read_mtok",
    "cache_creation_input_token_cost": "cache_write_mtok",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h_mtok",
    "output_cost_per_reasoning_token": "output_reasoning_mtok",
    "input_cost_per_audio_token": "input_audio_mtok",
    "output_cost_per_audio_token": "output_audio_mtok",
    "cache_read_input_audio_token_cost": "cache_audio_read_mtok",
    "cache_creation_input_audio_token_cost": "cache_audio_write_mtok",
    "input_cost_per_image_token": "input_image_mtok",
    "output_cost_per_image_token": "output_image_mtok",
    "cache_read_input_image_token_cost": "cache_image_read_mtok",
    "input_cost_per_video_token": "input_video_mtok",
    "output_cost_per_video_token": "output_video_mtok",
}

# Units that only a modality token count bills. `build_prices.py` fills these into a
# genai-prices model that lacks them, because no text price changes by it.
MODALITY_KEYS = {target for target in TOKEN_KEYS.values()
                 if any(word in target for word in ("audio", "image", "video"))}

# LiteLLM built-in tool fees -> price key of the merged table and the factor that turns the
# LiteLLM value into dollars per thousand calls. `storage_searches_kcount` is genai-prices'
# unit for OpenAI's file search tool. genai-prices 0.2.5 has no unit for code interpreter
# sessions (its `code_executions_kcount` counts executions), so that key is the engine's own.
# litellm 1.110.2 sets `file_search_cost_per_1k_calls` on no model, only in `sample_spec`.
TOOL_KEYS = {
    "file_search_cost_per_1k_calls": ("storage_searches_kcount", 1),
    "code_interpreter_cost_per_session": ("code_interpreter_sessions_kcount", 1000),
}

# An all-zero entry counts as a free offering only when its model id or its notes state so.
FREE_MODEL = re.compile(r"[:-]free$", re.IGNORECASE)
FREE_NOTE = re.compile(r"\bfree\b", re.IGNORECASE)

# Model id of the LiteLLM entries that carry a provider's tool fees.
CONTAINER_MODEL = "container"

# LiteLLM key suffix -> request context of the genai-prices price variant it prices, in the
# order variants are written.
VARIANTS = {
    "flex": {"service_tier": "flex"},
    "priority": {"service_tier": "priority"},
    "batches": {"processing": "batch"},
}


def load_entries(cache_dir: Path) -> dict:
    """Returns the parsed price JSON of the pinned LiteLLM wheel, downloading the wheel once."""
    if VERSION in BLOCKED_VERSIONS:
        sys.exit(f"{PACKAGE} {VERSION} is a compromised release; pin another version")
    wheel = find_wheel(cache_dir)
    if wheel is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *WHEEL_PLATFORM]
        subprocess.run([*pip, f"{PACKAGE}=={VERSION}", "-d", str(cache_dir)], check=True)
        wheel = find_wheel(cache_dir)
    if wheel is None:
        sys.exit(f"pip download left no {PACKAGE} {VERSION} wheel in {cache_dir}")
    with zipfile.ZipFile(wheel) as archive:
        return json.loads(archive.read(MEMBER))


def ordered_entries(entries: dict) -> list[tuple[str, dict]]:
    """Returns the entries in file order, those of secondary routes last."""
    def is_secondary(item) -> bool:
        entry = item[1]
        return isinstance(entry, dict) and entry.get("litellm_provider") in SECONDARY_ROUTES
    return sorted(entries.items(), key=is_secondary)


def find_wheel(cache_dir: Path) -> Path | None:
    wheels = sorted(cache_dir.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    return wheels[0] if wheels else None


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
    """Returns the genai-prices price keys of an entry's standard prices, with rates as
    decimal strings."""
    rates = token_rates(entry, None)
    add_range_tiers(rates, entry.get("tiered_pricing"))

    search = entry.get("search_context_cost_per_query")
    if isinstance(search, dict) and isinstance(search.get("search_context_size_medium"), float):
        # LiteLLM bills the medium search context when the request does not choose one.
        rates["web_searches_kcount"] = scaled(search["search_context_size_medium"], 1000)
    for fee in ("input_cost_per_query", "input_cost_per_request"):
        if isinstance(entry.get(fee), (int, float)):
            rates["requests_kcount"] = scaled(entry[fee], 1000)
    for source, (target, factor) in TOOL_KEYS.items():
        if is_number(entry.get(source)):
            rates[target] = scaled(entry[source], factor)
    return rates


def provider_tool_rates(entries: dict) -> dict:
    """Returns `{provider id: (LiteLLM key, rates)}` for the `<route>/container` entries,
    which carry a provider's tool fees; the first entry of a provider wins."""
    found: dict = {}
    for key, entry in ordered_entries(entries):
        if not isinstance(entry, dict):
            continue
        mapped = provider_and_model(key, entry)
        if mapped is None or mapped[1] != CONTAINER_MODEL:
            continue
        tool_keys = {target for target, _ in TOOL_KEYS.values()}
        rates = {name: rate for name, rate in convert_rates(entry).items() if name in tool_keys}
        if rates and mapped[0] not in found:
            found[mapped[0]] = (key, rates)
    return found


def convert_variants(entry: dict) -> list[dict]:
    """Returns the genai-prices price variants of an entry: the `_flex`, `_priority` and
    `_batches` token prices, each a partial set of rates that replaces the standard rate of
    the same key when the request matches `when`."""
    variants = []
    for suffix, when in VARIANTS.items():
        rates = token_rates(entry, suffix)
        if rates:
            variants.append({"when": dict(when), "rates": rates})
    return variants


def token_rates(entry: dict, variant: str | None) -> dict:
    """Returns the per-token rates of one variant (`None` for standard prices), with the
    prompt-size tiers of `*_above_<N>k_tokens` keys."""
    rates: dict = {}
    tiers = []
    for key, value in entry.items():
        parsed = PRICE_KEY.match(key)
        if parsed is None or parsed["variant"] != variant or not is_number(value):
            continue
        target = TOKEN_KEYS.get(parsed["base"])
        if target is None:
            continue
        if parsed["thousands"] is None:
            rates[target] = per_million(value)
        else:
            tiers.append((target, int(parsed["thousands"]) * 1000, per_million(value)))
    for target, start, price in tiers:
        if target in rates:
            add_tier(rates, target, start, price)
    return rates


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def is_placeholder(model: str, entry: dict) -> bool:
    """Returns true when every standard and variant rate of the entry is zero and neither the
    model id nor the entry's notes state that the model is free."""
    rate_sets = [convert_rates(entry), *(variant["rates"] for variant in convert_variants(entry))]
    if any(not is_zero(rate) for rates in rate_sets for rate in rates.values()):
        return False
    metadata = entry.get("metadata")
    notes = metadata.get("notes") if isinstance(metadata, dict) else None
    documented = isinstance(notes, str) and FREE_NOTE.search(notes) is not None
    return not (FREE_MODEL.search(model) or documented)


def is_zero(rate) -> bool:
    if isinstance(rate, dict):
        return Decimal(rate["base"]) == 0 and all(Decimal(t["price"]) == 0 for t in rate["tiers"])
    return Decimal(rate) == 0


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


def convert_file(entries: dict) -> dict:
    """Returns `{provider: {model: {"rates": ..., "price_variants": [...]}}}` for the entries
    that the merged table would take from a LiteLLM file, before any comparison with
    genai-prices, with each provider's container tool fees in the rates of its models.
    `agentlens-core/src/pricing/litellm/` reads the same layout, and both sides are checked
    against one expected file of this shape."""
    out: dict = {}
    for key, entry in ordered_entries(entries):
        if not isinstance(entry, dict):
            continue
        mapped = provider_and_model(key, entry)
        rates = convert_rates(entry)
        if mapped is None or not has_billable_rate(rates) or is_placeholder(mapped[1], entry):
            continue
        provider, model = mapped
        models = out.setdefault(provider, {})
        if model.lower() in (known.lower() for known in models):
            continue
        models[model] = {"rates": rates, "price_variants": convert_variants(entry)}
    for provider, (_, fees) in provider_tool_rates(entries).items():
        for model in out.get(provider, {}).values():
            for name, rate in fees.items():
                model["rates"].setdefault(name, rate)
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Converts a LiteLLM price file the way "
                                     "build_prices.py does and prints the result as JSON.")
    parser.add_argument("file", type=Path, help="LiteLLM model_prices_and_context_window.json")
    args = parser.parse_args()
    converted = convert_file(json.loads(args.file.read_text(encoding="utf-8")))
    print(json.dumps(converted, indent=1, sort_keys=True))
