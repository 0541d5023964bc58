"""Reading the model, usage and call facts out of a provider's response.

A response may be the SDK object (OpenAI, Anthropic and google-genai responses are
pydantic models), an older SDK object with `to_dict()`, or the decoded JSON body.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import invalid

# Deepest nesting that `to_plain` follows into objects without `model_dump` or `to_dict`.
_MAX_DEPTH = 32

_CAMEL_BOUNDARY = re.compile(r"_([a-z])")


@dataclass(frozen=True)
class ResponseFacts:
    """Provider, model, usage, creation time and id read from a response."""

    provider: str
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
    `google`, an Anthropic message (`"type": "message"` or cache fields in `usage`) means
    `anthropic`, and anything else `openai`. OpenAI-compatible providers such as DeepSeek
    or Groq return the OpenAI shape, so pass `provider=` for them.
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
        detected = "google"
        response_id = body.get("responseId") or body.get("response_id")
    else:
        usage = body.get("usage")
        model = body.get("model")
        detected = "anthropic" if _is_anthropic(body, usage) else "openai"
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
    """Return the creation time of OpenAI responses (`created`, `created_at`, in Unix seconds)."""
    for key in ("created", "created_at"):
        seconds = body.get(key)
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
            return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return None


def _camel_keys(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Rename snake_case keys (`prompt_token_count`) to Gemini's JSON names (`promptTokenCount`)."""
    return {
        _CAMEL_BOUNDARY.sub(lambda match: match.group(1).upper(), key): item
        for key, item in usage.items()
    }
