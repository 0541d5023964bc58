"""AgentLens: cost tracking for AI agents.

`Client` queues cost events and agent events for an AgentLens collector on a native
background thread, so tracking calls return without waiting for the network. `quote()`
prices a model call with the same embedded price table the collector uses, in exact
`Decimal` dollars.
"""

from ._client import EXIT_FLUSH_TIMEOUT, SESSION_ID_ENV, Client, CostUsd, Stats
from ._errors import AgentLensError, ConfigurationError, ValidationError
from ._native import PRICING_VERSION, Quote, __version__, quote
from ._session import Session

__all__ = [
    "EXIT_FLUSH_TIMEOUT",
    "PRICING_VERSION",
    "SESSION_ID_ENV",
    "AgentLensError",
    "Client",
    "ConfigurationError",
    "CostUsd",
    "Quote",
    "Session",
    "Stats",
    "ValidationError",
    "__version__",
    "quote",
]
