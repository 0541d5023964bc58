"""Reading the model, usage and call facts out of a provider's response.

A response may be the SDK object (OpenAI, Anthropic and google-genai responses are
pydantic models), an older SDK object with `to_dict()`, or the decoded JSON body.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import invalid

# Deepest nesting that `to_plain` follows into objects without `model_dump` or `to_dict`.
_MAX_DEPTH = 32

# Latest accepted `created` time, in Unix seconds: 9999-12-31T23:59:59Z. The same limit as
# `agentlens_core::usage::MAX_CREATED_SECONDS`, which the Node.js client applies. A time in
# milliseconds of any day after 11 January 1978 is above it.
MAX_CREATED_SECONDS = 253_402_300_799

_CAMEL_BOUNDARY = re.compile(r"_([a-z])")


@dataclass(frozen=True)
class ResponseFacts:
    """Provider, model, usage, creation time and id read from a response."""

    # None when neither the caller nor the shape names it. The core then takes the maker of
    # the model, or records the call unpriced under `unknown`.
    provider: str | None
    model: str
    usage: Mapping[str, Any]
    # The `output` items of an OpenAI Responses API result, which list its built-in tool
    # calls; None for other shapes.
    output: list[Any] | None
    created: datetime.datetime | None
    response_id: str | None


def read_response(response: Any, provider: str | None) -> ResponseFacts:
    """Read provider, model, usage, creation time and id from a response.

    Without an explicit `provider`, the shape decides: Gemini's `usageMetadata` means
    `google` and an Anthropic message (`"type": "message"` or cache fields in `usage`) means
    `anthropic`. The OpenAI shape names no provider, because OpenAI-compatible providers
    such as DeepSeek, xAI or Alibaba return it too, so the provider stays None.

    Raises `ValidationError` naming `created` when it is not in Unix seconds.
    """
    body = to_plain(response)
    if not isinstance(body, Mapping):
        raise invalid(
            "response", f"expected a response object or dict, got {type(response).__name__}"
        )

    gemini_usage = body.get("usageMetadata") or body.get("usage_metadata")
    if body.get("usage") is None and isinstance(gemini_usage, Mapping):
        usage: Any = _camel_keys(gemini_usage)
        model = body.get("modelVersion") or body.get("model_version") or body.get("model")
        detected: str | None = "google"
        response_id = body.get("responseId") or body.get("response_id")
    else:
        usage = body.get("usage")
        model = body.get("model")
        detected = "anthropic" if _is_anthropic(body, usage) else None
        response_id = body.get("id")

    if not isinstance(model, str) or not model:
        raise invalid(
            "model", "the response has no model id, so pass a response that includes `model`"
        )
    if not isinstance(usage, Mapping):
        raise invalid(
            "usage",
            "the response has no usage object. A streaming response reports it in the last chunk",
        )
    output = body.get("output")
    return ResponseFacts(
        provider=provider or detected,
        model=model,
        usage=usage,
        output=output if isinstance(output, list) else None,
        created=_created_at(body),
        response_id=response_id if isinstance(response_id, str) else None,
    )


def to_plain(value: Any, depth: int = 0) -> Any:
    """Convert SDK objects into dicts and lists, leaving JSON-like values as they are."""
    if depth > _MAX_DEPTH or value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item, depth + 1) for item in value]

    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        # Aliases are the wire names, such as google-genai's `usageMetadata`.
        return model_dump(mode="json", by_alias=True)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_plain(to_dict(), depth + 1)
    if hasattr(value, "__dict__"):
        fields = {key: item for key, item in vars(value).items() if not key.startswith("_")}
        return to_plain(fields, depth + 1)
    return value


def _is_anthropic(body: Mapping[str, Any], usage: Any) -> bool:
    if body.get("type") == "message":
        return True
    return isinstance(usage, Mapping) and (
        "cache_creation_input_tokens" in usage or "cache_read_input_tokens" in usage
    )


def _created_at(body: Mapping[str, Any]) -> datetime.datetime | None:
    """Return the creation time of OpenAI responses (`created`, `created_at`, in Unix seconds).

    0 and below mean unknown. Raises `ValidationError` for a number that is not finite or
    is above `MAX_CREATED_SECONDS`, such as a time in milliseconds.
    """
    for key in ("created", "created_at"):
        seconds = body.get(key)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            continue
        # An int is always finite, and math.isfinite would overflow on a huge one.
        finite = isinstance(seconds, int) or math.isfinite(seconds)
        if finite and seconds <= 0:
            continue
        if not finite or seconds > MAX_CREATED_SECONDS:
            raise invalid(
                key,
                f"invalid {key} {seconds}: expected Unix seconds from 1 to "
                f"{MAX_CREATED_SECONDS} (year 9999); divide a time in milliseconds by 1000",
            )
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return None


def _camel_keys(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Rename snake_case keys (`prompt_token_count`) to Gemini's JSON names (`promptTokenCount`)."""
    return {
        _CAMEL_BOUNDARY.sub(lambda match: match.group(1).upper(), key): item
        for key, item in usage.items()
    }
