"""Server-sent events framing. Network chunks are not events: split on blank lines, keep the rest.

Framing follows the WHATWG event-stream rules, because that is what clients parse: a line ends with
CRLF, LF or CR alone; a blank line ends an event; `field:value` drops one leading space; a leading
UTF-8 BOM is ignored. Anything that would let the client read an event differently from us (data
that is not UTF-8 or not JSON, duplicate JSON keys, an `event:` name that contradicts the data's
`type`) ends the stream closed: the parser can only judge what it can read exactly as the client will.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import orjson

from . import chat_stream, responses_stream

log = logging.getLogger("keeptrusts")

BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_FIELDS = (b"data", b"event", b"id", b"retry")


@dataclass
class SSEEvent:
    raw: bytes
    event: str | None
    data: str | None
    error: str | None = None   # why the event cannot be read exactly (then data is None)


def parse_event(raw: bytes) -> SSEEvent:
    """One framed event -> its `event` name and joined `data` lines (None when it has no data line)."""
    event = None
    data_lines: list[bytes] = []
    for line in (raw.split(b"\n") if b"\r" not in raw else _LINE_END.split(raw)):
        if not line or line[:1] == b":":
            continue  # blank line or comment
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            data_lines.append(value)
        elif name == b"event":
            event = value.decode("utf-8", "replace")
        elif name not in (b"id", b"retry"):
            # An event-stream reader ignores it, a client reading the body otherwise (a JSON answer
            # routed here because a stream was asked for) would not: it cannot be judged either way.
            return SSEEvent(raw, event, None, "a line that is not an event-stream field")
    if not data_lines:
        return SSEEvent(raw, event, None)
    try:
        data = b"\n".join(data_lines).decode("utf-8")
    except UnicodeDecodeError:
        return SSEEvent(raw, event, None, "its data is not UTF-8")
    return SSEEvent(raw, event, data)


def looks_like_sse(first_bytes: bytes) -> bool:
    """Whether a body starts like an event stream (used when the upstream's content type is missing
    or wrong). True for a field line (`data:`, `event:`, `id:`, `retry:`, a bare field name) or a
    `:` comment after an optional BOM and blank lines; a JSON body (`{`, `[`) is not. With fewer bytes
    than a field name, a prefix of one counts (the caller only has the first chunk)."""
    b = first_bytes[3:] if first_bytes.startswith(BOM) else first_bytes
    b = b.lstrip(b"\r\n")
    if not b:
        return False
    if b[:1] == b":":
        return True
    for name in _FIELDS:
        if b.startswith(name):
            rest = b[len(name):]
            return not rest or rest[:1] in (b":", b"\r", b"\n")
        if name.startswith(b) and len(b) < len(name):
            return True
    return False


class SSEFramer:
    """Bytes in, whole events out (each with its own bytes, terminators included).

    A CR at the end of the buffer may be the first half of a CRLF, so it is kept until the next byte."""

    def __init__(self) -> None:
        self._buf = b""
        self._line = 0      # where the current line starts in _buf
        self._scan = 0      # where to look for the next line end (bytes before it hold none)
        self._start = True  # nothing read yet: a BOM may still come

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        if self._start:
            if len(self._buf) < 3 and BOM.startswith(self._buf):
                return []
            if self._buf.startswith(BOM):
                self._buf = self._buf[3:]
            self._start = False
        out = []
        frame = 0
        buf = self._buf
        if b"\r" not in buf:  # the usual LF-only stream: the same frames, found by bytes.find
            while True:
                if buf[frame:frame + 1] == b"\n" and self._line == frame:
                    out.append(buf[frame:frame + 1])
                    frame = self._line = frame + 1
                    continue
                i = buf.find(b"\n\n", max(frame, self._scan - 1))
                if i < 0:
                    break
                out.append(buf[frame:i + 2])
                frame = self._line = i + 2
            last = buf.rfind(b"\n", frame)
            self._line = max(self._line, last + 1 if last >= 0 else frame)
            self._scan = len(buf)
            if frame:
                self._buf = buf[frame:]
                self._line -= frame
                self._scan -= frame
            return out
        scan_from, self._scan = self._scan, len(buf)
        for m in _LINE_END.finditer(buf, scan_from):
            s, e = m.span()
            if e == len(buf) and e - s == 1 and buf[s] == 13:  # a lone CR at the end: maybe half of a CRLF
                self._scan = s
                break
            if s == self._line:       # a blank line ends the event
                out.append(buf[frame:e])
                frame = e
            self._line = e
        if frame:
            self._buf = buf[frame:]
            self._line -= frame
            self._scan -= frame
        return out

    def rest(self) -> bytes:
        rest, self._buf, self._line, self._scan = self._buf, b"", 0, 0
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


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise DuplicateKey(f"duplicate key {dup!r}")
    return out


def loads_event(data: str | bytes):
    """Parse one upstream event (SSE data or a WebSocket text frame) exactly: JSON with no duplicate
    keys. Clients disagree on which of two equal keys wins, so such an event cannot be judged.
    Raises ValueError.

    Fast path: compact JSON as OpenAI sends it re-serialises to the same bytes, which proves no key
    was lost; anything else takes the exact (five times slower) duplicate-checking parse."""
    try:
        b = data.encode() if isinstance(data, str) else data
        obj = orjson.loads(b)
        if orjson.dumps(obj) == b:
            return obj
    except (ValueError, TypeError):
        pass
    return json.loads(data, object_pairs_hook=_no_duplicates)


class SSEStream:
    """A mitmproxy `flow.response.stream` callable around a Responses or chat stream parser.

    It does not look at the content type: the caller routes a body here when it is an event stream
    (see `looks_like_sse`)."""

    def __init__(self, parser: "responses_stream.ResponsesStream | chat_stream.ChatStream", on_end=None,
                 on_terminal=None):
        self.parser = parser
        self.framer = SSEFramer()
        self.on_end = on_end              # called once when the upstream body ends
        self.on_terminal = on_terminal    # called with the final event bytes before they go out
        self.ended = False
        self.bytes_out = 0
        self._named = isinstance(parser, responses_stream.ResponsesStream)
        self._terminal_done = False

    def _encode(self, ev: SSEEvent | None, obj, raw: str | None) -> bytes:
        """Bytes for one event: the original bytes when it is the unchanged current event,
        its original data when it is an unchanged held event, else a fresh serialisation."""
        if obj == "[DONE]":
            return ev.raw if ev is not None and raw is not None else b"data: [DONE]\n\n"
        if raw is not None and ev is not None:
            return ev.raw
        if raw is not None and "\n" in raw:
            raw = None  # a multi-line data field: re-serialise rather than re-frame it
        data = raw if raw is not None else dumps(obj)
        name = obj.get("type") if self._named and isinstance(obj, dict) else None
        return (f"event: {name}\n" if isinstance(name, str) and name and "\n" not in name and "\r" not in name
                else "").encode() + f"data: {data}\n\n".encode()

    def _process(self, raws: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for raw in raws:
            if self.parser.finished:
                continue  # after the terminal event nothing more reaches the client
            ev = parse_event(raw)
            if ev.data is None and ev.error is None:
                out.append(raw)  # comments / keep-alives / id- or retry-only events: no content
                continue
            obj, why = self._read(ev)
            if why is not None:
                for o, _ in self._fail(f"Keeptrusts could not check the model's answer: the upstream sent an event "
                                       f"it cannot read exactly ({why}), so the answer was stopped"):
                    out.append(self._encode(None, o, None))
                continue
            for o, r in self._feed(obj, ev.data):
                out.append(self._encode(ev if o is obj else None, o, r))
        return out

    def _read(self, ev: SSEEvent):
        """(event object, None) or (None, why it cannot be read as the client will read it)."""
        if ev.error is not None:
            return None, ev.error
        if ev.data.strip() == "[DONE]":
            return "[DONE]", None
        try:
            obj = loads_event(ev.data)
        except ValueError as exc:
            return None, f"its data is not JSON: {type(exc).__name__}" if not isinstance(exc, DuplicateKey) else str(exc)
        if not isinstance(obj, dict):
            return None, f"its data is a JSON {type(obj).__name__}, not an object"
        if self._named and ev.event not in (None, "", "message") and ev.event != obj.get("type"):
            return None, f"its name {ev.event[:60]!r} is not its type {str(obj.get('type'))[:60]!r}"
        return obj, None

    def _fail(self, message: str):
        return self.parser.fail(message)

    def _feed(self, obj, data: str):
        """The parser's answer for one event; an event it cannot handle ends the stream closed, so an
        upstream's malformed event can neither crash the proxy nor release a held tool call unjudged."""
        try:
            return self.parser.feed(obj, data)
        except Exception as exc:  # noqa: BLE001 - fail closed on anything the parser did not foresee
            log.warning("keeptrusts: malformed upstream event stopped the stream: %s: %s", type(exc).__name__, exc)
            return self._fail("Keeptrusts could not check the model's answer: the upstream sent a malformed "
                              f"event ({type(exc).__name__}), so the answer was stopped")

    def _finish(self):
        try:
            return self.parser.finish()
        except Exception as exc:  # noqa: BLE001
            log.warning("keeptrusts: stream end could not be judged: %s: %s", type(exc).__name__, exc)
            return self._fail(f"Keeptrusts could not check the end of the model's answer ({type(exc).__name__})")

    def __call__(self, data: bytes) -> list[bytes]:
        if data:
            out = self._process(self.framer.feed(data))
        else:
            rest = self.framer.rest()
            out = self._process([rest + b"\n\n"]) if rest.strip(b"\r\n") else []
            out += [self._encode(None, o, None) for o, _ in self._finish()]
        if out and self.on_terminal and self.parser.finished and not self._terminal_done:
            self._terminal_done = True
            self.on_terminal()
        self.bytes_out += sum(len(c) for c in out)
        if not data and not self.ended:
            self.ended = True
            if self.on_end:
                self.on_end()
        return [c for c in out if c]
