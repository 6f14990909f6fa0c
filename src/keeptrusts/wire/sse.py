"""Server-sent events framing. Network chunks are not events: split on blank lines, keep the rest."""
from __future__ import annotations

import json

import orjson
import logging
from dataclasses import dataclass

from . import chat_stream, responses_stream

log = logging.getLogger("keeptrusts")


@dataclass
class SSEEvent:
    raw: bytes
    event: str | None
    data: str | None


def parse_event(raw: bytes) -> SSEEvent:
    event = None
    data_lines = []
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("data:"):
            data_lines.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
        elif line.startswith("event:"):
            event = line[6:].strip()
    return SSEEvent(raw, event, "\n".join(data_lines) if data_lines else None)


class SSEFramer:
    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while True:
            i = self._buf.find(b"\n\n")
            j = self._buf.find(b"\r\n\r\n")
            if i < 0 and j < 0:
                break
            if j >= 0 and (i < 0 or j < i):
                out.append(self._buf[: j + 4])
                self._buf = self._buf[j + 4:]
            else:
                out.append(self._buf[: i + 2])
                self._buf = self._buf[i + 2:]
        return out

    def rest(self) -> bytes:
        rest, self._buf = self._buf, b""
        return rest


def dumps(obj) -> str:
    """Compact JSON. orjson: a 500 KB Codex body re-serialises in a fraction of a millisecond."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # integers beyond 64 bits and the like: the standard library takes anything JSON can hold
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def loads(data: bytes | str):
    """Parse JSON (orjson; raises ValueError subclasses on bad input, including invalid UTF-8)."""
    return orjson.loads(data)


class SSEStream:
    """A mitmproxy `flow.response.stream` callable around a Responses or chat stream parser."""

    def __init__(self, parser: "responses_stream.ResponsesStream | chat_stream.ChatStream", on_end=None,
                 on_terminal=None):
        self.parser = parser
        self.framer = SSEFramer()
        self.on_end = on_end              # called once when the upstream body ends
        self.on_terminal = on_terminal    # called with the final event bytes before they go out
        self.ended = False
        self.bytes_out = 0

    def _encode(self, ev: SSEEvent | None, obj, raw: str | None) -> bytes:
        """Bytes for one event: the original bytes when it is the unchanged current event,
        its original data when it is an unchanged held event, else a fresh serialisation."""
        if obj == "[DONE]":
            return ev.raw if ev is not None and raw is not None else b"data: [DONE]\n\n"
        if raw is not None and ev is not None:
            return ev.raw
        data = raw if raw is not None else dumps(obj)
        name = obj.get("type") if isinstance(obj, dict) and isinstance(self.parser, responses_stream.ResponsesStream) else None
        return (f"event: {name}\n" if name else "").encode() + f"data: {data}\n\n".encode()

    def _process(self, raws: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for raw in raws:
            ev = parse_event(raw)
            if ev.data is None:
                if not self.parser.finished:
                    out.append(raw)  # comments / keep-alives
                continue
            if ev.data.strip() == "[DONE]":
                obj = "[DONE]"
            else:
                try:
                    obj = json.loads(ev.data)
                except ValueError:
                    out.append(raw)  # not JSON: pass as is, it carries no model text we can judge
                    continue
            if not isinstance(obj, (dict, str)):
                out.append(raw)
                continue
            for o, r in self._feed(obj, ev.data):
                out.append(self._encode(ev if o is obj else None, o, r))
        return out

    def _feed(self, obj, data: str):
        """The parser's answer for one event; an event it cannot handle ends the stream closed, so an
        upstream's malformed event can neither crash the proxy nor release a held tool call unjudged."""
        try:
            return self.parser.feed(obj, data)
        except Exception as exc:  # noqa: BLE001 - fail closed on anything the parser did not foresee
            log.warning("keeptrusts: malformed upstream event stopped the stream: %s: %s", type(exc).__name__, exc)
            return self.parser._fail("Keeptrusts could not check the model's answer: the upstream sent a malformed "
                                     f"event ({type(exc).__name__}), so the answer was stopped")

    def _finish(self):
        try:
            return self.parser.finish()
        except Exception as exc:  # noqa: BLE001
            log.warning("keeptrusts: stream end could not be judged: %s: %s", type(exc).__name__, exc)
            return self.parser._fail(f"Keeptrusts could not check the end of the model's answer ({type(exc).__name__})")

    def __call__(self, data: bytes) -> list[bytes]:
        if data:
            out = self._process(self.framer.feed(data))
        else:
            rest = self.framer.rest()
            out = self._process([rest + b"\n\n"]) if rest.strip() else []
            out += [self._encode(None, o, None) for o, _ in self._finish()]
        if out and self.on_terminal and self.parser.finished and not getattr(self, "_terminal_done", False):
            self._terminal_done = True
            self.on_terminal()
        self.bytes_out += sum(len(c) for c in out)
        if not data and not self.ended:
            self.ended = True
            if self.on_end:
                self.on_end()
        return [c for c in out if c]
