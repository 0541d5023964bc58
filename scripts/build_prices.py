#!/usr/bin/env python3
"""Generates agentlens-core/data/prices.json from the PyPI package genai-prices.

Reads `genai_prices.data.providers` (the Python price data of genai-prices 0.2.3) and writes
our own JSON layout, which `agentlens-core/src/pricing/table.rs` embeds with `include_str!`.

Rerun from the repository root with:

    python3 scripts/build_prices.py

If genai_prices 0.2.3 is not importable, the script creates a virtual environment in
target/price-venv, installs genai-prices==0.2.3 there with pip and runs itself again inside
it. The output is deterministic for a given package version and date: dictionary keys are
sorted, while providers, models and dated prices keep the package's order because model
matching takes the first match and the last active dated price. Set SOURCE_DATE_EPOCH or pass
--date YYYY-MM-DD to pin the generation date.

genai-prices 0.2.3 carries no `prices_checked` dates in its Python data, so the output has
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

PACKAGE = "genai-prices"
VERSION = "0.2.3"
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "price-venv"
OUTPUT = ROOT / "agentlens-core" / "data" / "prices.json"
FORMAT_VERSION = 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", help="generation date to record (YYYY-MM-DD)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="path of the JSON to write")
    args = parser.parse_args()

    if not package_is_importable():
        reexec_in_venv()

    from genai_prices.data import providers

    table = {
        "format_version": FORMAT_VERSION,
        "source": {"package": PACKAGE, "version": VERSION},
        "generated": generation_date(args.date),
        "providers": [convert_provider(provider) for provider in providers],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(table, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    models = sum(len(provider["models"]) for provider in table["providers"])
    print(f"wrote {args.output} ({len(table['providers'])} providers, {models} models)")


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
    out = {
        "id": provider.id,
        "name": provider.name,
        "pricing_urls": list(provider.pricing_urls or []),
        "provider_match": convert_clause(provider.provider_match),
        "model_match": convert_clause(provider.model_match),
        "fallback_model_providers": list(provider.fallback_model_providers or []),
        "models": [convert_model(model) for model in provider.models],
    }
    add_prices_checked(out, provider)
    return out


def convert_model(model) -> dict:
    out = {
        "id": model.id,
        "name": model.name,
        "match": convert_clause(model.match),
        "prices": convert_dated_prices(model.prices),
    }
    if model.deprecated:
        out["deprecated"] = True
    if model.price_variants:
        out["price_variants"] = [convert_variant(variant) for variant in model.price_variants]
    add_prices_checked(out, model)
    return out


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


if __name__ == "__main__":
    main()
