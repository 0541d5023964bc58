"""Type stub of `agentlens._native`, the compiled core. Use the `agentlens` package instead."""

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from typing_extensions import final

__all__ = [
    "AgentLensError",
    "ConfigurationError",
    "NativeClient",
    "PRICING_VERSION",
    "Quote",
    "ValidationError",
    "__version__",
    "new_session_id",
    "quote",
]

__version__: str
PRICING_VERSION: str

class AgentLensError(Exception):
    """Base class of every error that AgentLens raises."""

class ValidationError(AgentLensError):
    """An argument or event is invalid, so nothing was queued."""

    errors: list[tuple[str, str]]
    path: str

class ConfigurationError(AgentLensError):
    """The client cannot start with the given settings."""

@final
class Quote:
    """The price of one model call, or the reason it has none."""

    @property
    def cost_usd(self) -> Decimal | None: ...
    @property
    def breakdown(self) -> dict[str, Decimal]:
        """Cost per billed unit: `input`, `cache_read`, `cache_write_5m`, `cache_write_1h`,
        `output`, `output_reasoning` (models with a reasoning rate), `web_searches` and
        `request`, plus one key per audio, image or video unit with tokens, such as
        `input_audio`, `cache_audio_read` or `output_image`. The values add up to
        `cost_usd`."""
        ...
    @property
    def provider(self) -> str | None: ...
    @property
    def model(self) -> str: ...
    @property
    def pricing_version(self) -> str: ...
    @property
    def unpriced_reason(self) -> str | None: ...

def quote(
    provider: str | None,
    model: str,
    usage: Mapping[str, Any],
    at: datetime.datetime | None = None,
) -> Quote: ...
def new_session_id() -> str: ...

@final
class NativeClient:
    def __new__(
        cls,
        url: str | None = None,
        api_key: str | None = None,
        agent_id: str | None = None,
        batch_size: int | None = None,
        flush_interval: float | None = None,
        queue_capacity: int | None = None,
    ) -> NativeClient: ...
    def track_cost(
        self,
        session_id: str,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int,
        cache_write_5m_tokens: int,
        cache_write_1h_tokens: int,
        reasoning_tokens: int,
        web_searches: int,
        file_searches: int,
        code_interpreter_sessions: int,
        cost_usd: Decimal | str | int | None,
        agent_id: str | None,
        trigger: str | None,
        call_id: str | None,
    ) -> None: ...
    def log_event(
        self,
        session_id: str,
        event_type: str,
        payload: Mapping[str, Any],
        agent_id: str | None,
        severity: str,
        metadata: Mapping[str, Any] | None,
    ) -> None: ...
    def track_usage(
        self,
        session_id: str,
        provider: str | None,
        model: str,
        usage: Mapping[str, Any],
        output: Sequence[Any] | None,
        at: datetime.datetime | None,
        agent_id: str | None,
        trigger: str | None,
        call_id: str | None,
    ) -> Quote: ...
    def flush(self, timeout: float) -> int: ...
    def shutdown(self, timeout: float) -> int: ...
    @property
    def agent_id(self) -> str: ...
    @property
    def sent(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def last_failure(self) -> str | None: ...
