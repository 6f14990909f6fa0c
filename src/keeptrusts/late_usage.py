"""The usage of a turn the gateway blocked mid-stream.

When a policy blocks a streamed answer (a tool call, unsafe text), the client gets `response.failed` at
once and the wire parser drops every later event, including the upstream's terminal event that carries
the turn's usage. The provider bills those tokens all the same, so the guards keep reading what the
upstream sends after the block (nothing of it reaches the client) until its terminal event, take the
usage from it, and only then record the turn. LATE_USAGE_WAIT_S bounds how long a WebSocket turn's
record waits for it; an HTTP stream's record waits for the upstream body to end (or the client to go).
"""
from __future__ import annotations

from .exchange import Usage
from .wire.chat_stream import usage_from_chat
from .wire.responses_stream import TERMINAL_TYPES, usage_from_responses
from .wire.sse import SSEFramer, loads, parse_event

LATE_USAGE_WAIT_S = 10.0


def blocked_mid_stream(parser) -> bool:
    """The gateway ended this turn (parser.fail) while the upstream may still be sending."""
    return parser is not None and parser.finished and bool(parser.blocked)


def usage_of_event(event) -> tuple[Usage | None, bool]:
    """(usage, is terminal) of one parsed upstream event: a Responses terminal event or a chat chunk."""
    if not isinstance(event, dict):
        return None, False
    t = event.get("type")
    if t in TERMINAL_TYPES:
        resp = event.get("response") if isinstance(event.get("response"), dict) else {}
        return usage_from_responses(resp.get("usage")), True
    if isinstance(event.get("usage"), dict) and event.get("object") == "chat.completion.chunk":
        return usage_from_chat(event["usage"]), True
    return None, False


class LateUsage:
    """Reads the SSE bytes of a stream after its block, for the terminal event's usage."""

    def __init__(self) -> None:
        self.framer = SSEFramer()
        self.usage: Usage | None = None
        self.terminal = False

    def feed(self, data: bytes) -> Usage | None:
        if self.terminal:
            return self.usage
        for raw in self.framer.feed(data):
            ev = parse_event(raw)
            if ev.data is None or ev.data.strip() == "[DONE]":
                continue
            try:
                obj = loads(ev.data)
            except ValueError:
                continue  # a fragment cut by the block's chunk boundary: only whole events matter
            usage, terminal = usage_of_event(obj)
            if usage is not None:
                self.usage = usage
            if terminal:
                self.terminal = True
                break
        return self.usage


def settle_completion(parser, usage: Usage | None) -> None:
    """Put the upstream's usage on the blocked turn's completion (the audit row's tokens and cost)."""
    if usage is not None and parser is not None and parser.completion.usage is None:
        parser.completion.usage = usage
