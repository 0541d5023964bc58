"""Sessions: a block of agent work whose events share one session id."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _native
from ._native import Quote

if TYPE_CHECKING:
    from ._client import Client, CostUsd


class Session:
    """A session opened by `Client.session()`.

    Entering it logs `session_started`, and leaving it logs `session_ended` with reason
    `completed`, or `error` when the block raised. Events logged through the session carry
    its `id` and, unless they name another, its agent id. It works with `with` and
    `async with`, and neither waits for the network.
    """

    def __init__(
        self,
        client: Client,
        *,
        session_id: str | None = None,
        agent_id: str | None = None,
        agent_name: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        self.id = session_id or _native.new_session_id()
        self.agent_id = agent_id
        self._client = client
        self._agent_name = agent_name
        self._tags = list(tags) if tags is not None else None
        self._started: float | None = None

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, agent_id={self.agent_id!r})"

    def __enter__(self) -> Session:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.end(error=exc)

    async def __aenter__(self) -> Session:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    def start(self) -> None:
        """Log `session_started`. The context manager calls this on entry."""
        payload: dict[str, Any] = {}
        if self._agent_name is not None:
            payload["agentName"] = self._agent_name
        if self._tags is not None:
            payload["tags"] = self._tags
        self._started = time.monotonic()
        self.log_event("session_started", payload)

    def end(self, error: BaseException | None = None) -> None:
        """Log `session_ended`, with reason `error` when `error` is given.

        The summary names only the exception type, because messages may hold user data.
        """
        payload: dict[str, Any] = {"reason": "completed" if error is None else "error"}
        if error is not None:
            payload["summary"] = type(error).__name__
        if self._started is not None:
            payload["totalDurationMs"] = round((time.monotonic() - self._started) * 1000)
        self.log_event("session_ended", payload, severity="info" if error is None else "error")

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
        agent_id: str | None = None,
        trigger: str | None = None,
        call_id: str | None = None,
    ) -> None:
        """Queue a `cost_tracked` event in this session, like `Client.track_cost`."""
        self._client.track_cost(
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_write_5m_tokens=cache_write_5m_tokens,
            cache_write_1h_tokens=cache_write_1h_tokens,
            reasoning_tokens=reasoning_tokens,
            web_searches=web_searches,
            file_searches=file_searches,
            code_interpreter_sessions=code_interpreter_sessions,
            cost_usd=cost_usd,
            session_id=self.id,
            agent_id=agent_id or self.agent_id,
            trigger=trigger,
            call_id=call_id,
        )

    def track_response(
        self,
        response: Any,
        *,
        provider: str | None = None,
        agent_id: str | None = None,
        trigger: str | None = None,
        call_id: str | None = None,
    ) -> Quote:
        """Price a response and queue its cost in this session, like `Client.track_response`."""
        return self._client.track_response(
            response,
            provider=provider,
            session_id=self.id,
            agent_id=agent_id or self.agent_id,
            trigger=trigger,
            call_id=call_id,
        )

    def log_event(
        self,
        event_type: str,
        payload: Mapping[str, Any],
        *,
        agent_id: str | None = None,
        severity: str = "info",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Validate and queue an event in this session, like `Client.log_event`."""
        self._client.log_event(
            event_type,
            payload,
            session_id=self.id,
            agent_id=agent_id or self.agent_id,
            severity=severity,
            metadata=metadata,
        )
