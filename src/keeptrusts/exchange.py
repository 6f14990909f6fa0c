"""What the policy chain sees of one exchange: wire-neutral segments and output items.

`wire/` turns OpenAI bodies and events into these objects and writes edits back; policies
read and edit them without knowing the transport (JSON, SSE or WebSocket) or mitmproxy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Segment kinds: the role a text plays for the model.
SYSTEM = "system"              # system / developer instructions
USER = "user"                  # what the human typed
ASSISTANT = "assistant"        # model output replayed as history
TOOL_OUTPUT = "tool_output"    # function_call_output, custom_tool_call_output, tool messages
TOOL_CALL_ARGS = "tool_call_args"  # arguments / input of a tool call replayed as history
REASONING = "reasoning"        # reasoning summaries replayed as history
OTHER = "other"                # embeddings / completions inputs, tool definitions

UNTRUSTED_KINDS = frozenset({TOOL_OUTPUT})


@dataclass
class Segment:
    """One text the model will read, addressed by its JSON path in the request body."""

    path: tuple[str | int, ...]
    kind: str
    text: str
    role: str = ""
    tool_name: str | None = None   # for tool outputs and calls, the tool involved (when known)
    call_id: str | None = None
    original: str = field(default="", repr=False)  # text before any policy edited it
    # How the text sits in the body when it is not a plain JSON string: "data-url:<mime>" (base64 in a
    # data: URL), "base64" (bare base64 file data), "query:<name>", "header:<name>". Written back encoded.
    encoding: str | None = None

    def __post_init__(self) -> None:
        if not self.original:
            self.original = self.text

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def where(self) -> str:
        """Human-readable location, e.g. `input[3].output` (used in findings and errors)."""
        out = ""
        for p in self.path:
            out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
        return out


@dataclass
class OutputItem:
    """One completed thing the model produced: a message text or a tool call.

    kind: "message", "function_call", "custom_tool_call", "local_shell_call", "reasoning".
    `text` is the message text, the function arguments (JSON string), the custom tool input,
    or for local_shell_call the JSON of its action. Policies may edit `text` (redact/restore).
    """

    kind: str
    text: str
    name: str | None = None
    call_id: str | None = None
    index: int = 0
    original: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.original:
            self.original = self.text

    @property
    def is_tool_call(self) -> bool:
        return self.kind in ("function_call", "custom_tool_call", "local_shell_call")

    @property
    def changed(self) -> bool:
        return self.text != self.original


@dataclass
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass
class Completion:
    """The whole model answer, assembled at the end of a response (for quality scoring, audit)."""

    items: list[OutputItem] = field(default_factory=list)
    finish_reason: str | None = None   # "stop", "length", "tool_calls", "incomplete", ...
    usage: Usage | None = None
    status: str | None = None          # responses API status ("completed", "failed", ...)

    @property
    def text(self) -> str:
        return "".join(i.text for i in self.items if i.kind == "message")


@dataclass
class Exchange:
    """One request to the model (one HTTP request, or one `response.create` over WebSocket)."""

    api: str                      # "chat", "responses", "embeddings", "completions", "unknown"
    transport: str                # "http", "sse", "websocket"
    path: str = ""
    model: str | None = None
    segments: list[Segment] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)  # tool names offered to the model
    developer: str | None = None
    session_id: str | None = None  # stable per conversation where the client tells us
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased, no credentials
    completion: Completion | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def text_of(self, *kinds: str) -> str:
        return "\n".join(s.text for s in self.segments if not kinds or s.kind in kinds)
