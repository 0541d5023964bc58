#!/usr/bin/env python3
"""Generates agentlens-core/data/prices.json from genai-prices and LiteLLM.

The first source is `genai_prices.data.providers`, the Python price data of the PyPI package
genai-prices 0.2.5. The second is LiteLLM's `model_prices_and_context_window_backup.json`, read
out of the PyPI wheel of litellm (see `litellm_prices.py` for how its keys map to providers and
models, and why no LiteLLM code runs). The result is our own JSON layout, which
`agentlens-core/src/pricing/table.rs` embeds with `include_str!`.

Merge rules:

- genai-prices wins wherever it has the model. A LiteLLM entry counts as present when
  genai-prices' own `Provider.find_model` (match clauses, compact-date fallback and fallback
  providers) finds any spelling that the Rust lookup would try: the id, and the id after its last
  `/`. Those entries are compared instead, and differing input, output, cache-read or
  cache-write rates are written to `agentlens-core/data/price-disagreements.txt`.
- Where genai-prices has the model but lacks an audio, image or video unit that LiteLLM
  prices, the LiteLLM rate fills that unit of the genai-prices entry in force on the
  generation date. The model lists the filled units and their LiteLLM key in `filled_from`,
  and the report lists every fill. No rate that genai-prices sets is replaced, and no text
  price changes, because only modality token counts use these units.
- Every other LiteLLM entry is appended to its provider, or to a new provider placed after all
  genai-prices providers, so lookups without a provider still reach genai-prices first. Its
  `_flex`, `_priority` and `_batches` prices become `price_variants`.
- LiteLLM keys dropped because another key already gave the same provider and model, with
  different rates, are listed in the report too.
- LiteLLM's `<route>/container` entries carry a provider's code interpreter fee per session.
  They become the provider's `tool_rates` (`{"from": ..., "rates": {...}}`), which the engine
  applies to every model of that provider without a fee of its own.
- Each model records `source` (`genai-prices 0.2.5` or `litellm <version>`); genai-prices
  models also record `pricing_url`, the first pricing page of their provider.
- LiteLLM lists models it has no price for at $0 (self-hosted servers, previews, some
  embedding and search APIs). Such all-zero entries are left out unless the model id or the
  entry's notes say the model is free (`litellm_prices.is_placeholder`), so those models stay
  unpriced instead of costing $0. The report lists every entry left out this way.
- genai-prices lists some models with a dated price that has no rates at all, and prices
  their calls at $0. When the model's id or name states that it is free (OpenRouter's
  `:free` ids, "Gemma 3 (free)"), such a price gets `input_mtok` and `output_mtok` of "0",
  so the engine prices their tokens at $0 instead of leaving them unpriced
  (`add_free_rates`). Other models without rates stay unpriced: genai-prices also leaves
  the rates empty for prices it does not know or cannot state per token. A deprecated
  model is left without rates, and a dated price that lacks only some rates keeps its gaps.
- The summary line counts the providers and the providers with at least one model that has a
  non-zero rate, so the free models above do not count.

Rerun from the repository root with:

    python3 scripts/build_prices.py --date YYYY-MM-DD

If genai_prices 0.2.5 is not importable, the script creates a virtual environment in
target/price-venv, installs genai-prices==0.2.5 there with pip and runs itself again inside
it. The litellm wheel is downloaded once into target/litellm-wheel. The output is deterministic
for given package versions and date: dictionary keys are sorted, genai-prices providers, models
and dated prices keep the package's order because model matching takes the first match and the
last active dated price, and LiteLLM entries follow in the order of its JSON file. Set
SOURCE_DATE_EPOCH or pass --date YYYY-MM-DD to pin the generation date.

genai-prices 0.2.5 carries no `prices_checked` dates in its Python data, so the output has
them only when a future version adds that attribute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import litellm_prices  # noqa: E402

PACKAGE = "genai-prices"
VERSION = "0.2.5"
GENAI_SOURCE = f"{PACKAGE} {VERSION}"
LITELLM_SOURCE = f"{litellm_prices.PACKAGE} {litellm_prices.VERSION}"
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "price-venv"
WHEEL_DIR = ROOT / "target" / "litellm-wheel"
OUTPUT = ROOT / "agentlens-core" / "data" / "prices.json"
DISAGREEMENTS = ROOT / "agentlens-core" / "data" / "price-disagreements.txt"
FORMAT_VERSION = 2
# Provider spellings that genai-prices 0.2.5 does not match, by provider id. Azure OpenAI is
# reported as `azure`, `azure_openai` or, in OpenTelemetry's gen_ai attributes,
# `azure.ai.openai` and the older `az.ai.openai`; without these clauses the last two would
# find `openai` through its `contains "openai"` clause.
PROVIDER_SPELLINGS = {
    "azure": [{"contains": "azure"}, {"starts_with": "az.ai."}],
    # Alibaba Cloud sells the Qwen models through DashScope (Model Studio); SDKs such as the
    # Vercel AI SDK name the provider "alibaba".
    "dashscope": [{"contains": "alibaba"}, {"contains": "aliyun"}],
}
# Rates of a genai-prices dated price that sets none, see `add_free_rates`.
FREE_RATES = {"input_mtok": "0", "output_mtok": "0"}
COMPARED_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok",
                 "output_reasoning_mtok", *sorted(litellm_prices.MODALITY_KEYS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", help="generation date to record (YYYY-MM-DD)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="path of the JSON to write")
    parser.add_argument("--disagreements", type=Path, default=DISAGREEMENTS,
                        help="path of the rate disagreement report to write")
    args = parser.parse_args()

    if not package_is_importable():
        reexec_in_venv()

    from genai_prices.data import providers

    generated = generation_date(args.date)
    table = {
        "format_version": FORMAT_VERSION,
        "sources": [
            {"package": PACKAGE, "version": VERSION},
            {"package": litellm_prices.PACKAGE, "version": litellm_prices.VERSION},
        ],
        "generated": generated,
        "providers": [convert_provider(provider) for provider in providers],
    }
    entries = litellm_prices.load_entries(WHEEL_DIR)
    report = merge_litellm(table["providers"], providers, entries, generated)
    add_route_names(table["providers"], providers)
    add_tool_rates(table["providers"], entries)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(table, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    args.disagreements.write_text(report.text(generated), encoding="utf-8")
    models = sum(len(provider["models"]) for provider in table["providers"])
    priced = sum(1 for provider in table["providers"] if any(map(has_price, provider["models"])))
    print(f"wrote {args.output} ({len(table['providers'])} providers, {priced} of them with a "
          f"non-zero price, {models} models; "
          f"{report.added} from {LITELLM_SOURCE}, {report.overlapping} LiteLLM entries already "
          f"in {GENAI_SOURCE}, {report.skipped} skipped)")
    print(f"wrote {args.disagreements} ({len(report.lines)} disagreeing rates, "
          f"{len(report.fills)} filled units, {len(report.duplicates)} differing duplicates, "
          f"{len(report.placeholders)} $0 placeholders left out)")


def has_price(model: dict) -> bool:
    """Returns true when any rate of the model's price entries is above zero."""
    for entry in model["prices"]:
        for rate in entry["rates"].values():
            base = rate["base"] if isinstance(rate, dict) else rate
            if Decimal(base) > 0:
                return True
    return False


def package_is_importable() -> bool:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:
        return False
    try:
        return version(PACKAGE) == VERSION
    except PackageNotFoundError:
        return False


def reexec_in_venv() -> None:
    python = VENV / "bin" / "python"
    if os.environ.get("AGENTLENS_PRICE_VENV") == "1":
        sys.exit(f"{PACKAGE}=={VERSION} is still not importable inside {VENV}")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", f"{PACKAGE}=={VERSION}"]
    subprocess.run(pip, check=True)
    env = dict(os.environ, AGENTLENS_PRICE_VENV="1")
    result = subprocess.run([str(python), __file__, *sys.argv[1:]], env=env)
    sys.exit(result.returncode)


def generation_date(explicit: str | None) -> str:
    if explicit:
        return dt.date.fromisoformat(explicit).isoformat()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date().isoformat()
    return dt.datetime.now(tz=dt.timezone.utc).date().isoformat()


def convert_provider(provider) -> dict:
    pricing_url = (provider.pricing_urls or [None])[0]
    out = {
        "id": provider.id,
        "name": provider.name,
        "pricing_urls": list(provider.pricing_urls or []),
        "provider_match": convert_clause(provider.provider_match),
        "model_match": convert_clause(provider.model_match),
        "fallback_model_providers": list(provider.fallback_model_providers or []),
        "models": [convert_model(model, pricing_url) for model in provider.models],
    }
    add_prices_checked(out, provider)
    return out


def convert_model(model, pricing_url: str | None) -> dict:
    out = {
        "id": model.id,
        "name": model.name,
        "match": convert_clause(model.match),
        "prices": convert_dated_prices(model.prices),
        "source": GENAI_SOURCE,
    }
    if pricing_url:
        out["pricing_url"] = pricing_url
    if model.deprecated:
        out["deprecated"] = True
    elif is_named_free(model):
        add_free_rates(out["prices"])
    if model.price_variants:
        out["price_variants"] = [convert_variant(variant) for variant in model.price_variants]
    add_prices_checked(out, model)
    return out


def is_named_free(model) -> bool:
    """Returns true when the model's id or name states that it is free, by the rule that
    keeps LiteLLM's free entries (`litellm_prices.FREE_MODEL` and `FREE_NOTE`).

    genai-prices also leaves the rates empty when it does not know a price (Hugging Face
    router models) or cannot state it per token (OpenRouter's Lyria models, billed per
    song), so an empty price alone does not make a model free.
    """
    named_free = model.name is not None and litellm_prices.FREE_NOTE.search(model.name)
    return bool(litellm_prices.FREE_MODEL.search(model.id) or named_free)


def add_free_rates(entries: list[dict]) -> None:
    """Gives each dated price that has no rates at all $0 input and output rates.

    genai-prices' `ModelPrice.calc_price` adds nothing for a unit without a rate, so it
    prices a call of such a model at $0. The engine bills a token only at a rate of the
    entry or of a wider unit, and these two rates are the widest units, so every token costs
    $0. Web searches and the other units billed per thousand get no rate, so a call that
    counts them stays unpriced.

    The caller skips deprecated models, because genai-prices 0.2.5 keeps one without rates
    when its provider no longer lists it (Cerebras `qwen-3-coder-480b`), which does not make
    it free. Price variants never come here, because their empty rates mean "same as the
    standard price".
    """
    for entry in entries:
        if not entry["rates"]:
            entry["rates"] = dict(FREE_RATES)


def add_prices_checked(out: dict, item) -> None:
    checked = getattr(item, "prices_checked", None)
    if checked is not None:
        out["prices_checked"] = checked.isoformat()


def convert_clause(clause) -> dict | None:
    """Converts a match clause into a one-key object named after the clause kind."""
    if clause is None:
        return None
    kind = type(clause).__name__
    simple = {
        "ClauseEquals": "equals",
        "ClauseStartsWith": "starts_with",
        "ClauseEndsWith": "ends_with",
        "ClauseContains": "contains",
        "ClauseRegex": "regex",
    }
    if kind in simple:
        key = simple[kind]
        return {key: getattr(clause, key)}
    if kind == "ClauseOr":
        return {"or": [convert_clause(inner) for inner in clause.or_]}
    if kind == "ClauseAnd":
        return {"and": [convert_clause(inner) for inner in clause.and_]}
    raise TypeError(f"unsupported match clause {kind}")


def convert_dated_prices(prices) -> list[dict]:
    """Returns the list of price entries, each with the constraint under which it applies."""
    if not isinstance(prices, list):
        return [{"rates": convert_rates(prices)}]
    entries = []
    for conditional in prices:
        entry = {"rates": convert_rates(conditional.prices)}
        entry.update(convert_constraint(conditional.constraint))
        entries.append(entry)
    return entries


def convert_variant(variant) -> dict:
    out = {"when": dict(variant.when), "rates": convert_rates(variant.prices)}
    out.update(convert_constraint(variant.constraint))
    return out


def convert_constraint(constraint) -> dict:
    if constraint is None:
        return {}
    kind = type(constraint).__name__
    if kind == "StartDateConstraint":
        return {"start_date": constraint.start_date.isoformat()}
    if kind == "TimeOfDateConstraint":
        window = {"start": time_text(constraint.start_time), "end": time_text(constraint.end_time)}
        return {"time_of_day": window}
    raise TypeError(f"unsupported price constraint {kind}")


def time_text(value: dt.time) -> str:
    """Returns the time of day in UTC as HH:MM:SS, the zone genai-prices assumes for naive times."""
    if value.tzinfo is not None:
        moment = dt.datetime.combine(dt.date(1970, 1, 1), value).astimezone(dt.timezone.utc)
        value = moment.time()
    return value.replace(microsecond=0).isoformat()


def convert_rates(model_price) -> dict:
    """Returns every set price key with its rate as a decimal string, or a tiered rate."""
    rates = {}
    for key, value in vars(model_price).items():
        if key.startswith("_") or value is None:
            continue
        rates[key] = convert_rate(key, value)
    return rates


def convert_rate(key: str, value):
    if isinstance(value, Decimal):
        return decimal_text(value)
    if type(value).__name__ == "TieredPrices":
        tiers = [{"start": tier.start, "price": decimal_text(tier.price)} for tier in value.tiers]
        return {"base": decimal_text(value.base), "tiers": sorted(tiers, key=lambda t: t["start"])}
    raise TypeError(f"unsupported rate for {key}: {value!r}")


def decimal_text(value: Decimal) -> str:
    """Formats a decimal in plain notation without an exponent or trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class MergeReport:
    """Counts of the merge, with the disagreements, fills and dropped duplicates found on the
    way."""

    def __init__(self) -> None:
        self.added = 0
        self.overlapping = 0
        self.skipped = 0
        self.lines: list[str] = []
        self.fills: list[str] = []
        self.duplicates: list[str] = []
        self.placeholders: list[str] = []

    def text(self, generated: str) -> str:
        header = [
            f"# Rates that differ between {GENAI_SOURCE} and {LITELLM_SOURCE}, generated "
            f"{generated} by scripts/build_prices.py.",
            "# The table uses the genai-prices rate. Rates are dollars per million tokens, taken",
            "# from the genai-prices entry in force on the generation date (the base rate of a",
            "# tiered price). Columns: provider, model (LiteLLM key), price key, genai-prices",
            "# rate, LiteLLM rate.",
        ]
        fills = [
            "",
            f"# Units that genai-prices lacks, filled from {LITELLM_SOURCE} into the genai-prices",
            "# entry in force on the generation date and listed in the model's `filled_from`.",
            "# Columns: provider, genai-prices model id, price key, rate, LiteLLM key.",
        ]
        duplicates = [
            "",
            "# LiteLLM entries dropped because an earlier key maps to the same provider and model",
            "# after folding routes, and whose rates differ from the kept entry. Columns:",
            "# provider, model id, kept LiteLLM key, dropped LiteLLM key, differing price keys.",
        ]
        placeholders = [
            "",
            "# LiteLLM entries left out as $0 placeholders: every rate is zero, and neither the",
            "# model id (`:free`, `-free`) nor the entry's notes say the model is free. A model",
            "# listed here keeps the rates of another LiteLLM key or of genai-prices when one has",
            "# them, and is unpriced otherwise, never $0. Columns: provider, model id, LiteLLM key.",
        ]
        return "\n".join([*header, *sorted(self.lines), *fills, *sorted(self.fills),
                          *duplicates, *sorted(self.duplicates),
                          *placeholders, *sorted(self.placeholders)]) + "\n"


def merge_litellm(out_providers: list[dict], providers, entries: dict, generated: str):
    """Appends the LiteLLM entries that genai-prices lacks and compares the others."""
    report = MergeReport()
    by_id = {provider["id"]: provider for provider in out_providers}
    genai_by_id = {provider.id: provider for provider in providers}
    at = dt.datetime.combine(dt.date.fromisoformat(generated), dt.time(12), dt.timezone.utc)
    kept: dict[tuple[str, str], tuple[str, dict]] = {}

    for key, entry in litellm_prices.ordered_entries(entries):
        if not isinstance(entry, dict) or key == "sample_spec":
            continue
        mapped = litellm_prices.provider_and_model(key, entry)
        rates = litellm_prices.convert_rates(entry)
        if mapped is None or not litellm_prices.has_billable_rate(rates):
            report.skipped += 1
            continue
        provider_id, model_id = mapped
        if litellm_prices.is_placeholder(model_id, entry):
            report.skipped += 1
            report.placeholders.append(f"{provider_id}\t{model_id}\t{key}")
            continue
        first = kept.get((provider_id, model_id.lower()))
        if first is not None:
            report.skipped += 1
            note_duplicate(report, provider_id, model_id, first, key, rates)
            continue
        kept[(provider_id, model_id.lower())] = (key, rates)

        genai_provider = genai_by_id.get(provider_id)
        existing = genai_provider and (
            find_genai_model(genai_provider, model_id, providers)
            # A genai-prices model whose match clauses miss its own id (Fireworks lists
            # `accounts/fireworks/models/...` forms) is still the same model.
            or next((model for model in genai_provider.models
                     if model.id.lower() == model_id.lower()), None)
        )
        if existing:
            report.overlapping += 1
            compare_rates(report, provider_id, key, existing.get_prices(at), rates)
            if any(existing is model for model in genai_provider.models):
                out_model = find_out_model(by_id[provider_id], existing.id)
                fill_units(report, provider_id, out_model, entry_index(existing, at), key, rates)
            continue

        provider = by_id.get(provider_id)
        if provider is None:
            provider = new_provider(provider_id)
            by_id[provider_id] = provider
            out_providers.append(provider)
        model = {
            "id": model_id,
            "name": model_id,
            "match": litellm_prices.model_aliases(provider_id, model_id),
            "prices": [{"rates": rates}],
            "source": LITELLM_SOURCE,
        }
        variants = litellm_prices.convert_variants(entry)
        if variants:
            model["price_variants"] = variants
        provider["models"].append(model)
        report.added += 1
    return report


def note_duplicate(report: MergeReport, provider_id: str, model_id: str, first, key: str,
                   rates: dict) -> None:
    first_key, first_rates = first
    differing = sorted(name for name in first_rates.keys() | rates.keys()
                       if first_rates.get(name) != rates.get(name))
    if differing:
        line = f"{provider_id}\t{model_id}\t{first_key}\t{key}\t{','.join(differing)}"
        report.duplicates.append(line)


def find_out_model(provider: dict, model_id: str) -> dict:
    return next(model for model in provider["models"] if model["id"] == model_id)


def entry_index(model, at: dt.datetime) -> int:
    """Returns the position of the price entry in force at `at`, as `ModelInfo.get_prices`
    chooses it: the last entry whose constraint holds, else the first."""
    if not isinstance(model.prices, list):
        return 0
    for index in range(len(model.prices) - 1, -1, -1):
        constraint = model.prices[index].constraint
        if constraint is None or constraint.active(at):
            return index
    return 0


def fill_units(report: MergeReport, provider_id: str, out_model: dict, index: int, key: str,
               rates: dict) -> None:
    """Copies the modality rates that the genai-prices entry lacks from a LiteLLM entry,
    never replacing a rate genai-prices sets or an earlier fill."""
    target = out_model["prices"][index]["rates"]
    units = sorted(unit for unit in litellm_prices.MODALITY_KEYS
                   if unit in rates and unit not in target)
    if not units:
        return
    for unit in units:
        target[unit] = rates[unit]
        report.fills.append(f"{provider_id}\t{out_model['id']}\t{unit}\t{rates[unit]}\t{key}")
    out_model.setdefault("filled_from", []).append(
        {"source": LITELLM_SOURCE, "key": key, "units": units}
    )


def add_route_names(out_providers: list[dict], providers) -> None:
    """Extends each provider's match clause with the LiteLLM route names folded onto it, so
    a lookup by `azure_ai` or `qwencloud` finds the provider that contains those models."""
    genai_by_id = {provider.id: provider for provider in providers}
    for out in out_providers:
        genai = genai_by_id.get(out["id"])
        clause = genai.provider_match if genai else None
        spellings = PROVIDER_SPELLINGS.get(out["id"], [])
        names = [name for name, target in sorted(litellm_prices.PROVIDER_IDS.items())
                 if target == out["id"] and name != out["id"]
                 and not (clause is not None and clause.is_match(name))
                 and not any(matches_spelling(spelling, name) for spelling in spellings)]
        added = [*spellings, *({"equals": name} for name in names)]
        if not added:
            continue
        current = out["provider_match"]
        out["provider_match"] = {"or": added if current is None else [current, *added]}


def add_tool_rates(out_providers: list[dict], entries: dict) -> None:
    """Records the tool fees of LiteLLM's container entries on the providers they name."""
    by_id = {provider["id"]: provider for provider in out_providers}
    for provider_id, (key, rates) in sorted(litellm_prices.provider_tool_rates(entries).items()):
        provider = by_id.get(provider_id)
        if provider is not None:
            provider["tool_rates"] = {"from": f"{LITELLM_SOURCE} {key}", "rates": rates}


def matches_spelling(clause: dict, name: str) -> bool:
    if "contains" in clause:
        return clause["contains"] in name
    return name.startswith(clause["starts_with"])


def find_genai_model(provider, model_id: str, providers):
    """Returns the genai-prices model for an id, trying the spellings the Rust lookup tries."""
    lowered = model_id.lower()
    for spelling in dict.fromkeys([lowered, lowered.rsplit("/", 1)[-1]]):
        found = provider.find_model(spelling, all_providers=providers)
        if found is not None:
            return found
    return None


def new_provider(provider_id: str) -> dict:
    return {
        "id": provider_id,
        "name": provider_id,
        "pricing_urls": [],
        "provider_match": None,
        "model_match": None,
        "fallback_model_providers": [],
        "models": [],
    }


def compare_rates(report: MergeReport, provider_id: str, key: str, price, rates: dict) -> None:
    for price_key in COMPARED_KEYS:
        ours = getattr(price, price_key, None)
        theirs = rates.get(price_key)
        if ours is None or theirs is None:
            continue
        ours = ours.base if type(ours).__name__ == "TieredPrices" else ours
        theirs = theirs["base"] if isinstance(theirs, dict) else theirs
        if Decimal(theirs) != ours:
            line = f"{provider_id}\t{key}\t{price_key}\t{decimal_text(ours)}\t{theirs}"
            report.lines.append(line)


if __name__ == "__main__":
    main()
