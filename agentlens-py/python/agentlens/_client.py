"""The `Client`: queues events for an AgentLens collector without slowing the caller.

The native core does the work on its own background thread: every method here validates
its input, queues the event and returns, with no I/O on the calling thread. This module
adds what only Python can do:

- defaults from the environment, including `AGENTLENS_SESSION_ID` for events outside a
  session;
- an `atexit` hook that closes every open client, so queued events are sent before the
  interpreter exits (up to `EXIT_FLUSH_TIMEOUT` seconds in all);
- an `os.register_at_fork` hook: a forked child never touches the parent's background
  thread, which does not exist in the child, and builds its own on first use;
- warnings on the `agentlens` logger when events failed or were dropped, written when
  `flush()` or `close()` runs.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Union

from . import _native
from ._native import NativeClient, Quote
from ._response import read_response
from ._session import Session

__all__ = ["Client", "CostUsd", "Stats", "EXIT_FLUSH_TIMEOUT", "SESSION_ID_ENV"]

logger = logging.getLogger("agentlens")

#: Seconds the exit hook waits, in total, for all clients to send their queued events.
EXIT_FLUSH_TIMEOUT = 5.0

#: Seconds a client that is garbage-collected without `close()` waits for its queued events.
DROP_CLOSE_TIMEOUT = 2.0

#: Environment variable with the session id of events logged outside a `with` session.
SESSION_ID_ENV = "AGENTLENS_SESSION_ID"

#: Accepted types of an exact cost. A float is rejected with a `ValidationError`.
CostUsd = Union[Decimal, str, int]


@dataclass(frozen=True)
class Stats:
    """Delivery counters of a client."""

    sent: int
    """Events the collector accepted."""
    dropped: int
    """Events dropped because the queue was full or the client was closed."""
    failed: int
    """Events given up on after failed sends."""
    pending: int
    """Events queued or in flight."""


class Client:
    """Queues cost events and agent events for an AgentLens collector.

    Arguments left as `None` come from `AGENTLENS_SERVER_URL`, `AGENTLENS_API_KEY` and
    `AGENTLENS_AGENT_ID`, then from the defaults (`http://localhost:3400`, no key, agent
    `default`). `flush_interval` is in seconds.

    Raises `ConfigurationError` when the URL is not an absolute http(s) URL or a setting is
    out of range: `batch_size` 1 to 1000, `queue_capacity` at least 1, `flush_interval` 0 or
    more, `agent_id` 1 to 256 characters. Invalid events raise `ValidationError` and are not
    queued. Failed deliveries are never raised: they show in `stats` and on the `agentlens`
    logger.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        agent_id: str | None = None,
        *,
        batch_size: int | None = None,
        flush_interval: float | None = None,
        queue_capacity: int | None = None,
    ) -> None:
        self._settings: dict[str, Any] = {
            "url": url,
            "api_key": api_key,
            "agent_id": agent_id,
            "batch_size": batch_size,
            "flush_interval": flush_interval,
            "queue_capacity": queue_capacity,
        }
        self._core: NativeClient | None = NativeClient(**self._settings)
        self._start_lock = threading.Lock()
        self._closed = False
        self._session_from_env = bool(os.environ.get(SESSION_ID_ENV))
        self.default_session_id: str = os.environ.get(SESSION_ID_ENV) or _native.new_session_id()
        """Session id of events logged outside a `with client.session()` block."""
        self._reported_failed = 0
        self._reported_dropped = 0
        _open_clients.add(self)

    def __del__(self) -> None:
        # Closing here instead of in the native destructor releases the GIL during the wait.
        # `_closed` is missing when __init__ raised before setting it.
        if not getattr(self, "_closed", True):
            self.close(timeout=DROP_CLOSE_TIMEOUT)

    def __repr__(self) -> str:
        return f"Client(agent_id={self.agent_id!r}, default_session_id={self.default_session_id!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def agent_id(self) -> str:
        """Agent id of events that do not name one."""
        return self._core_client().agent_id

    @property
    def stats(self) -> Stats:
        """Counters of sent, dropped, failed and pending events of this process."""
        native = self._core
        if native is None:
            return Stats(sent=0, dropped=0, failed=0, pending=0)
        return Stats(
            sent=native.sent, dropped=native.dropped, failed=native.failed, pending=native.pending
        )

    def track_cost(
        self,
        *,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_5m_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        reasoning_tokens: int = 0,
        web_searches: int = 0,
        file_searches: int = 0,
        code_interpreter_sessions: int = 0,
        cost_usd: CostUsd | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        trigger: str | None = None,
        call_id: str | None = None,
    ) -> None:
        """Queue a `cost_tracked` event for one model call.

        `input_tokens` counts every prompt token, cache reads and writes included, and
        `output_tokens` every generated token, reasoning included. `web_searches`,
        `file_searches` and `code_interpreter_sessions` count the built-in tool calls that
        the provider bills per call or per session. Without `cost_usd` the collector prices
        the call from its table, or counts it as unpriced. `call_id` ties the cost to an
        `llm_response` event of the same call, which then counts instead.

        Raises `ValidationError` naming the argument when a value is invalid, such as a
        float `cost_usd` (pass a `Decimal` or a string), cache tokens above `input_tokens`,
        a `session_id` or `agent_id` over 256 characters, or an event over the collector's
        1 MiB request limit.
        """
        native = self._core or self._core_client()
        native.track_cost(
            self.default_session_id if session_id is None else session_id,
            provider,
            model,
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_5m_tokens,
            cache_write_1h_tokens,
            reasoning_tokens,
            web_searches,
            file_searches,
            code_interpreter_sessions,
            cost_usd,
            agent_id,
            trigger,
            call_id,
        )

    def track_response(
        self,
        response: Any,
        *,
        provider: str | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        trigger: str | None = None,
        call_id: str | None = None,
    ) -> Quote:
        """Price a provider response with the embedded price table and queue its cost.

        `response` is an OpenAI Chat Completions or Responses API result, an Anthropic
        message or a Gemini `GenerateContentResponse`, as the SDK object or as a dict of
        the JSON body. The provider is `provider`, else the one the shape names (Gemini,
        Anthropic), else the maker of the model (`gpt-` for `openai`, `grok` for `x-ai`).
        A model that resellers also list, such as `qwen3-max` from an OpenAI-compatible API,
        is never priced at a reseller's rates: without `provider` it is queued unpriced
        under provider `unknown`, with the reason in `unpriced_reason`. The call is priced
        at the response's `created` time (Unix seconds) when it has one, and its `id`
        becomes the event's `call_id` unless one is given.
        The web search, file search and code interpreter items of a Responses API result's
        `output` are billed as tool calls, unless `usage` counts them itself.

        Returns the `Quote`. An unknown model gives `cost_usd=None` and an event without a
        cost, which the collector counts as unpriced, never as $0. Raises `ValidationError`
        for the cases of `track_cost`, and for a `created` time that is not in Unix seconds.
        """
        facts = read_response(response, provider)
        native = self._core or self._core_client()
        return native.track_usage(
            self.default_session_id if session_id is None else session_id,
            facts.provider,
            facts.model,
            facts.usage,
            facts.output,
            facts.created,
            agent_id,
            trigger,
            call_id if call_id is not None else facts.response_id,
        )

    def log_event(
        self,
        event_type: str,
        payload: Mapping[str, Any],
        *,
        session_id: str | None = None,
        agent_id: str | None = None,
        severity: str = "info",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Validate an event of any client-sendable type and queue it.

        `payload` uses the wire names of the event type (`{"reason": "completed"}` for
        `session_ended`). A `Decimal` is sent exactly, as `track_cost` sends `cost_usd`.
        Raises `ValidationError` with the path of every invalid value, such as
        `payload.reason`, before anything is queued, also for an event over the collector's
        1 MiB request limit.
        """
        native = self._core or self._core_client()
        native.log_event(
            self.default_session_id if session_id is None else session_id,
            event_type,
            payload,
            agent_id,
            severity,
            metadata,
        )

    def session(
        self,
        agent_id: str | None = None,
        tags: Sequence[str] | None = None,
        agent_name: str | None = None,
        *,
        session_id: str | None = None,
    ) -> Session:
        """Return a session to use with `with` or `async with`; see `Session`."""
        return Session(
            self, session_id=session_id, agent_id=agent_id, agent_name=agent_name, tags=tags
        )

    def flush(self, timeout: float = 5.0) -> int:
        """Send everything queued and wait up to `timeout` seconds.

        Returns the number of events still pending. The wait releases the GIL.
        """
        native = self._core
        if native is None:
            return 0
        pending = native.flush(timeout)
        self._report_losses(native)
        return pending

    def close(self, timeout: float = 5.0) -> int:
        """Send what is queued, stop the background thread and wait up to `timeout` seconds.

        Returns the number of events still pending; later events are dropped. Calling it
        again returns at once.
        """
        native = self._core
        self._closed = True
        _open_clients.discard(self)
        if native is None:
            return 0
        pending = native.shutdown(timeout)
        self._report_losses(native)
        if pending:
            logger.warning("agentlens client closed with %d events still pending", pending)
        return pending

    def _core_client(self) -> NativeClient:
        """Return the native client, building it first in a process forked from the creator."""
        native = self._core
        if native is not None:
            return native
        with self._start_lock:
            if self._core is None:
                self._core = NativeClient(**self._settings)
            return self._core

    def _forget_core_after_fork(self) -> None:
        """Drop the parent's native client in a forked child without shutting it down.

        Its background thread exists only in the parent, so a shutdown would wait for a
        thread that does not exist. The object is kept alive in `_abandoned` because its
        destructor would try that shutdown.
        """
        if self._closed or self._core is None:
            return
        _abandoned.append(self._core)
        self._core = None
        self._start_lock = threading.Lock()
        self._reported_failed = 0
        self._reported_dropped = 0
        if not self._session_from_env:
            self.default_session_id = _native.new_session_id()

    def _report_losses(self, native: NativeClient) -> None:
        failed, dropped = native.failed, native.dropped
        if failed > self._reported_failed:
            logger.warning(
                "agentlens failed to deliver %d events to the collector (%d in total; latest "
                "failure: %s); check the collector URL, API key and that the collector is running",
                failed - self._reported_failed,
                failed,
                native.last_failure,
            )
            self._reported_failed = failed
        if dropped > self._reported_dropped:
            logger.warning(
                "agentlens dropped %d events because its queue was full or the client was "
                "closed (%d in total); raise queue_capacity or flush more often",
                dropped - self._reported_dropped,
                dropped,
            )
            self._reported_dropped = dropped


_open_clients: weakref.WeakSet[Client] = weakref.WeakSet()
_abandoned: list[NativeClient] = []


def _close_clients_at_exit() -> None:
    deadline = time.monotonic() + EXIT_FLUSH_TIMEOUT
    for client in list(_open_clients):
        client.close(timeout=max(0.0, deadline - time.monotonic()))


def _forget_cores_after_fork() -> None:
    for client in list(_open_clients):
        client._forget_core_after_fork()


atexit.register(_close_clients_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_cores_after_fork)
