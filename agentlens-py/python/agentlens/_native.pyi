"""Type stub of `agentlens._native`, the compiled core. Use the `agentlens` package instead."""

import datetime
from decimal import Decimal
from typing import Any, Mapping, Optional, Union

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
    """An argument or event is invalid; nothing was queued."""

    errors: list[tuple[str, str]]
    path: str

class ConfigurationError(AgentLensError):
    """The client cannot start with the given settings."""

@final
class Quote:
    """The price of one model call, or the reason it has none."""

    @property
    def cost_usd(self) -> Optional[Decimal]: ...
    @property
    def breakdown(self) -> dict[str, Decimal]: ...
    @property
    def provider(self) -> Optional[str]: ...
    @property
    def model(self) -> str: ...
    @property
    def pricing_version(self) -> str: ...
    @property
    def unpriced_reason(self) -> Optional[str]: ...

def quote(
    provider: Optional[str],
    model: str,
    usage: Mapping[str, Any],
    at: Optional[datetime.datetime] = None,
) -> Quote: ...
def new_session_id() -> str: ...

@final
class NativeClient:
    def __new__(
        cls,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        agent_id: Optional[str] = None,
        batch_size: Optional[int] = None,
        flush_interval: Optional[float] = None,
        queue_capacity: Optional[int] = None,
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
        cost_usd: Union[Decimal, str, int, None],
        agent_id: Optional[str],
        trigger: Optional[str],
        call_id: Optional[str],
    ) -> None: ...
    def log_event(
        self,
        session_id: str,
        event_type: str,
        payload: Mapping[str, Any],
        agent_id: Optional[str],
        severity: str,
        metadata: Optional[Mapping[str, Any]],
    ) -> None: ...
    def track_usage(
        self,
        session_id: str,
        provider: str,
        model: str,
        usage: Mapping[str, Any],
        at: Optional[datetime.datetime],
        agent_id: Optional[str],
        trigger: Optional[str],
        call_id: Optional[str],
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
