"""What the fake model answers, turn by turn.

A script is a list; each generating request (chat, responses, or a WebSocket `response.create`
without `generate: false`) consumes the next entry. An entry may be a plain string (a text answer),
one item, a list of items, a Turn, an HttpError or a Failed, or a callable `step(received)` that
returns one of those. The whole script may also be such a callable. When the list runs out the model answers `default` (plain text "Done.").
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Union


@dataclass
class Text:
    text: str
    chunk: int = 6  # characters per streamed delta, so deltas really are split


@dataclass
class FunctionCall:
    """A function tool call (Responses `function_call`, chat `tool_calls[].function`)."""
    name: str
    arguments: Any = field(default_factory=dict)  # dict is JSON-encoded; str is sent as is
    call_id: str | None = None
    chunk: int = 7

    @property
    def arguments_text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class CustomToolCall:
    """A freeform tool call (Responses `custom_tool_call`, e.g. Codex's `apply_patch` or `exec`)."""
    name: str
    input: str
    call_id: str | None = None
    chunk: int = 7


@dataclass
class Refusal:
    text: str


@dataclass
class Reset:
    """Close the connection without a word after `after` events (or body bytes for JSON)."""
    after: int = 2


@dataclass
class Stall:
    """Send `after` events, then nothing for `seconds` (bounded), then close."""
    after: int = 2
    seconds: float = 5.0


@dataclass
class Garbage:
    """Send `after` events, then bytes that are not a valid event, then close."""
    after: int = 2
    data: bytes = b"data: {not json\x00\xff\n\n"


@dataclass
class Framing:
    """How a Responses turn goes on the wire: adversarial framings a real server might also send,
    for the closed-world tests (issue 14). Defaults are the ordinary framing.

    calls: "standard"; "done_only" (a call only in `response.output_item.done`, no added, no deltas);
      "added_as_message" (`added` says message, `done` says the call); "interleaved" (the events of
      all calls interleaved, one event of each in turn).
    content_type: the SSE content type; None sends no content-type header.
    eol: the SSE line ending: "\n", "\r\n" or "\r"."""
    calls: str = "standard"
    content_type: str | None = "text/event-stream; charset=utf-8"
    eol: str = "\n"


Fault = Union[Reset, Stall, Garbage]
Item = Union[Text, FunctionCall, CustomToolCall, Refusal]


@dataclass
class Turn:
    items: list = field(default_factory=list)
    stop: str = "stop"  # "stop" or "length" (Responses: status incomplete, max_output_tokens)
    fault: Fault | None = None
    # Overrides for the usage block. Unset: input from the request size (over WebSocket, the whole
    # chained context), cached = the previous turn's input with the same prompt_cache_key (prefix hit).
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int = 0
    framing: Framing | None = None  # adversarial wire framings (Responses SSE and WebSocket)


@dataclass
class HttpError:
    """An HTTP error status with OpenAI's error envelope (over WebSocket: an `error` event)."""
    status: int = 500
    message: str = "The server had an error while processing your request."
    type: str = "server_error"
    code: str | None = None
    headers: dict = field(default_factory=dict)
    body: dict | None = None  # sent verbatim instead of the envelope (e.g. a gateway's own error shape)


@dataclass
class Failed:
    """A stream that ends with `response.failed` (non-streaming: HTTP 500 with the same error)."""
    code: str = "server_error"
    message: str = "Something went wrong."
    after: int = 2  # events sent before response.failed (at least response.created)


Entry = Union[str, Item, list, Turn, HttpError, Failed]
Script = Union[list, Callable[[Any], Entry]]


def normalize(entry: Entry) -> Turn | HttpError | Failed:
    if isinstance(entry, (Turn, HttpError, Failed)):
        return entry
    if isinstance(entry, str):
        return Turn([Text(entry)])
    if isinstance(entry, list):  # items; a text("...") Turn in the list counts as its items
        items = []
        for e in entry:
            items += e.items if isinstance(e, Turn) else [Text(e) if isinstance(e, str) else e]
        return Turn(items)
    return Turn([entry])


# Short helpers for readable scripts in tests.
def text(t: str) -> Turn:
    return Turn([Text(t)])


def call(name: str, arguments: Any = None, **kw) -> FunctionCall:
    return FunctionCall(name, {} if arguments is None else arguments, **kw)


def custom(name: str, input: str, **kw) -> CustomToolCall:
    return CustomToolCall(name, input, **kw)


def refusal(t: str = "I can't help with that.") -> Turn:
    return Turn([Refusal(t)])


def length(t: str) -> Turn:
    return Turn([Text(t)], stop="length")


def error(status: int = 500, message: str | None = None, **kw) -> HttpError:
    defaults = {
        429: ("Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"),
        400: ("Invalid request.", "invalid_request_error", None),
        401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    }
    msg, typ, code = defaults.get(status, ("The server had an error while processing your request.", "server_error", None))
    kw.setdefault("type", typ)
    kw.setdefault("code", code)
    return HttpError(status, message or msg, **kw)


def failed(code: str = "server_error", message: str = "Something went wrong.", after: int = 2) -> Failed:
    return Failed(code, message, after)


def reset(after: int = 2, then: Turn | None = None) -> Turn:
    turn = then or text("This answer is cut off before it ends.")
    turn.fault = Reset(after)
    return turn


def stall(seconds: float = 5.0, after: int = 2, then: Turn | None = None) -> Turn:
    turn = then or text("This answer stalls.")
    turn.fault = Stall(after, seconds)
    return turn


def garbage(after: int = 2, then: Turn | None = None) -> Turn:
    turn = then or text("This answer turns into garbage.")
    turn.fault = Garbage(after)
    return turn


def framed(items: list, calls: str = "standard", content_type: str | None = "text/event-stream; charset=utf-8",
           eol: str = "\n") -> Turn:
    """A turn sent in an adversarial framing, e.g. `framed([call("exec_command", {...})], calls="done_only")`."""
    return Turn([Text(i) if isinstance(i, str) else i for i in items], framing=Framing(calls, content_type, eol))
