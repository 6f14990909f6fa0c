"""FakeOpenAI: a scripted local OpenAI upstream (HTTP/1.1, SSE, Responses WebSocket, optional TLS).

It runs an asyncio server in a background thread on 127.0.0.1, port 0, and records every request
and every WebSocket message it receives (headers and decoded body), so tests can prove what did or
did not reach "OpenAI".
"""
from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import ssl
import struct
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection,
                            RejectData, Request, TextMessage)
from wsproto.extensions import PerMessageDeflate

from . import render
from .script import Failed, Garbage, HttpError, Reset, Stall, Turn, normalize

MAX_HEAD = 1 << 20
MAX_BODY = 64 << 20
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict",
           413: "Payload Too Large", 415: "Unsupported Media Type", 426: "Upgrade Required",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass
class Received:
    """One request (transport "http") or one client WebSocket message (transport "websocket")."""
    transport: str
    method: str
    path: str  # with query string
    headers: dict  # lower-case names; repeated headers joined with ", "
    body: bytes
    raw_headers: list = field(default_factory=list)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    def __repr__(self) -> str:
        return f"<Received {self.transport} {self.method} {self.path} {len(self.body)}B>"


class _Closed(Exception):
    pass


def _decode_body(body: bytes, encoding: str) -> bytes:
    for enc in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        if enc == "gzip":
            body = gzip.decompress(body)
        elif enc == "deflate":
            body = zlib.decompress(body)
        elif enc == "br":
            import brotli
            body = brotli.decompress(body)
        elif enc == "zstd":
            import zstandard  # optional; raises ImportError -> 415
            body = zstandard.ZstdDecompressor().decompress(body, max_output_size=MAX_BODY)
        elif enc != "identity":
            raise ValueError(enc)
    return body


class FakeOpenAI:
    """`with FakeOpenAI(script=[...]) as fake: fake.url, fake.base_url, fake.requests`.

    websocket: "accept" (default), "refuse" (426 Upgrade Required, Codex falls back to SSE), or an
    int status to answer the upgrade with. tls=True serves HTTPS with a test CA at `fake.ca_path`.
    """

    def __init__(self, script=None, *, websocket: str | int = "accept", tls: bool = False,
                 default: str = "Done.", stall_limit: float = 30.0):
        self.script = script if script is not None else []
        self.websocket = websocket
        self.tls = tls
        self.default = default
        self.stall_limit = stall_limit
        self.requests: list[Received] = []
        self.responses_served = 0  # generating turns answered (warm-ups not counted)
        self.ca_path: Path | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._tasks: set = set()
        self._stopping: asyncio.Event | None = None
        self._cache_tokens: dict = {}  # prompt_cache_key -> input tokens of the last turn
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.port = 0

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> "FakeOpenAI":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "FakeOpenAI":
        ssl_ctx = None
        if self.tls:
            from .tls import make_certs
            self._tmp = tempfile.TemporaryDirectory(prefix="fake-openai-tls-")
            self.ca_path, cert, key = make_certs(Path(self._tmp.name))
            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain(cert, key)
            ssl_ctx.set_alpn_protocols(["http/1.1"])
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._stopping = asyncio.Event()
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_ctx, limit=MAX_HEAD))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # surface bind errors in the caller's thread
                failure.append(e)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            return

        async def shutdown() -> None:
            self._stopping.set()
            self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(10)
        if self._tmp:
            self._tmp.cleanup()

    # ------------------------------------------------------------ what tests read
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/v1/responses"

    def received(self, transport: str | None = None, route: str | None = None) -> list[Received]:
        return [r for r in list(self.requests)
                if (transport is None or r.transport == transport) and (route is None or r.route == route)]

    def model_requests(self) -> list[Received]:
        """Requests that asked the model for something (chat, responses, WebSocket response.create)."""
        out = []
        for r in list(self.requests):
            if r.transport == "websocket" or (r.method == "POST" and r.route.endswith(("/responses", "/chat/completions"))):
                out.append(r)
        return out

    def all_text(self) -> str:
        """Everything received (headers and bodies) as one string, for 'never reached upstream' checks."""
        parts = []
        for r in list(self.requests):
            parts.append(f"{r.method} {r.path}")
            parts += [f"{k}: {v}" for k, v in r.raw_headers]
            parts.append(r.text)
        return "\n".join(parts)

    def leaked(self, *needles: str) -> list[str]:
        """The needles that appear anywhere in what the fake received."""
        text = self.all_text()
        return [n for n in needles if n in text]

    # ------------------------------------------------------------ script
    def _next_entry(self, received: Received):
        with self._lock:
            self.responses_served += 1
            if callable(self.script):
                entry = self.script(received)
            elif self.script:
                entry = self.script.pop(0)
            else:
                entry = self.default
        if callable(entry):  # a step that answers from what it received (e.g. echoing a tool output)
            entry = entry(received)
        return normalize(entry)

    def _with_usage(self, turn: Turn, req: dict, chars: int, ws_state: dict | None = None) -> Turn:
        """Fill in realistic usage: WebSocket turns count their whole chained context; a repeated
        prompt_cache_key reports the previous turn's input as cached (OpenAI's prefix cache)."""
        if ws_state is not None:
            ws_state["context"] = (ws_state["context"] if req.get("previous_response_id") else 0) + chars
            chars = ws_state["context"]
        inp = turn.input_tokens if turn.input_tokens is not None else max(1, chars // 4)
        key = req.get("prompt_cache_key")
        cached = turn.cached_tokens
        if cached is None:
            cached = min(self._cache_tokens.get(key, 0), inp) // 64 * 64 if key else 0
        if key:
            self._cache_tokens[key] = inp
        return replace(turn, input_tokens=inp, cached_tokens=cached)

    # ------------------------------------------------------------ connection handling
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                method, target, headers, raw = self._parse_head(head)
                if headers.get("upgrade", "").lower() == "websocket":
                    await self._websocket(head, target, headers, raw, reader, writer)
                    return
                body = await self._read_body(reader, writer, headers)
                try:
                    body = _decode_body(body, headers.get("content-encoding", ""))
                except (ValueError, OSError, ImportError) as e:
                    rec = Received("http", method, target, headers, body, raw)
                    self.requests.append(rec)
                    await self._json(writer, 415, render.error_body(415, f"cannot decode body: {e}", "invalid_request_error", None))
                    continue
                rec = Received("http", method, target, headers, body, raw)
                self.requests.append(rec)
                keep = await self._dispatch(rec, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (_Closed, ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._tasks.discard(task)
            try:
                writer.close()
            except Exception:
                pass

    @staticmethod
    def _parse_head(head: bytes):
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        raw, headers = [], {}
        for line in lines[1:]:
            if not line:
                continue
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            raw.append((k, v))
            lk = k.lower()
            headers[lk] = f"{headers[lk]}, {v}" if lk in headers else v
        return method, target, headers, raw

    async def _read_body(self, reader, writer, headers) -> bytes:
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    return bytes(body)
                body += await reader.readexactly(size)
                await reader.readexactly(2)
                if len(body) > MAX_BODY:
                    raise _Closed()
        n = int(headers.get("content-length", "0") or 0)
        if n > MAX_BODY:
            raise _Closed()
        return await reader.readexactly(n) if n else b""

    # ------------------------------------------------------------ HTTP responses
    @staticmethod
    def _head(status: int, headers: dict) -> bytes:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        base = {"date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
                "x-request-id": "req_" + hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:24],
                "openai-processing-ms": "12", "openai-version": "2020-10-01"}
        base.update(headers)
        lines += [f"{k}: {v}" for k, v in base.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _json(self, writer, status: int, obj: Any, headers: dict | None = None) -> bool:
        body = json.dumps(obj).encode()
        writer.write(self._head(status, {"content-type": "application/json", "content-length": str(len(body)),
                                         **(headers or {})}) + body)
        await writer.drain()
        return True

    async def _dispatch(self, rec: Received, writer) -> bool:
        route = rec.route
        if route.startswith("/v1/"):
            route = route[3:]
        elif route.startswith("/backend-api/codex/"):  # Codex signed in with ChatGPT (chatgpt.com)
            route = route[len("/backend-api/codex"):]
        if rec.method == "GET" and route == "/models":
            return await self._json(writer, 200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "openai"}
                for m in ("gpt-5.5", "gpt-5-codex", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small")]})
        if rec.method == "POST" and route == "/embeddings":
            return await self._embeddings(rec, writer)
        if rec.method == "POST" and route in ("/chat/completions", "/responses"):
            req = rec.json
            if not isinstance(req, dict):
                return await self._json(writer, 400, render.error_body(400, "We could not parse the JSON body of your request.",
                                                                       "invalid_request_error", None))
            entry = self._next_entry(rec)
            if isinstance(entry, HttpError):
                return await self._json(writer, entry.status, self._error_obj(entry), entry.headers)
            if route == "/responses":
                return await self._responses(req, len(rec.body), entry, writer)
            return await self._chat(req, len(rec.body), entry, writer)
        if rec.method == "GET" and route == "/responses":
            return await self._json(writer, 400, render.error_body(400, "Expected a WebSocket upgrade.", "invalid_request_error", None))
        return await self._json(writer, 404, render.error_body(404, f"Invalid URL ({rec.method} {rec.path})",
                                                               "invalid_request_error", None))

    @staticmethod
    def _error_obj(entry: HttpError) -> dict:
        if entry.body is not None:
            return entry.body
        return {"error": {"message": entry.message, "type": entry.type, "param": None, "code": entry.code}}

    async def _embeddings(self, rec: Received, writer) -> bool:
        req = rec.json or {}
        inputs = req.get("input", "")
        inputs = inputs if isinstance(inputs, list) else [inputs]
        dims = int(req.get("dimensions") or 8)
        data = []
        for i, item in enumerate(inputs):
            seed = hashlib.sha256(json.dumps(item).encode()).digest()
            vec = [((seed[j % 32] + j) % 256) / 255.0 - 0.5 for j in range(dims)]
            emb: Any = vec
            if req.get("encoding_format") == "base64":
                emb = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(max(1, len(json.dumps(x)) // 4) for x in inputs)
        return await self._json(writer, 200, {"object": "list", "data": data, "model": req.get("model", "text-embedding-3-small"),
                                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def _responses(self, req: dict, chars: int, entry, writer) -> bool:
        if isinstance(entry, Failed):
            events = render.responses_failed_events(entry, req)
            if not req.get("stream"):
                err = events[-1]["response"]["error"]
                return await self._json(writer, 500, render.error_body(500, err["message"], "server_error", err["code"]))
            return await self._sse(writer, [render.sse_event(e) for e in events], None)
        entry = self._with_usage(entry, req, chars)
        events = render.responses_events(entry, req, chars)
        if req.get("stream"):
            frames = [render.sse_event(e) for e in events]
            if entry.framing is not None:
                eol = entry.framing.eol.encode()
                return await self._sse(writer, [f.replace(b"\n", eol) for f in frames], entry.fault,
                                       content_type=entry.framing.content_type)
            return await self._sse(writer, frames, entry.fault)
        return await self._json_with_fault(writer, render.final_response(events), entry.fault)

    async def _chat(self, req: dict, chars: int, entry, writer) -> bool:
        if isinstance(entry, Failed):
            if not req.get("stream"):
                return await self._json(writer, 500, render.error_body(500, entry.message, "server_error", entry.code))
            err = render.error_body(500, entry.message, "server_error", entry.code)
            return await self._sse(writer, [b"data: " + json.dumps(err).encode() + b"\n\n"], None)
        entry = self._with_usage(entry, req, chars)
        if req.get("stream"):
            frames = [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in render.chat_chunks(entry, req, chars)]
            return await self._sse(writer, frames + [b"data: [DONE]\n\n"], entry.fault)
        return await self._json_with_fault(writer, render.chat_completion(entry, req, chars), entry.fault)

    async def _json_with_fault(self, writer, obj, fault) -> bool:
        if fault is None:
            return await self._json(writer, 200, obj)
        body = json.dumps(obj).encode()
        writer.write(self._head(200, {"content-type": "application/json", "content-length": str(len(body))}))
        if isinstance(fault, Garbage):
            writer.write(fault.data.ljust(len(body), b"\xff")[:len(body)])
            await writer.drain()
            return True
        writer.write(body[:min(len(body) // 2, fault.after * 16)])
        await writer.drain()
        if isinstance(fault, Stall):
            await self._pause(fault.seconds)
        writer.transport.abort()
        raise _Closed()

    async def _sse(self, writer, frames: list[bytes], fault, content_type: str | None = "text/event-stream; charset=utf-8") -> bool:
        headers = {"transfer-encoding": "chunked", "cache-control": "no-cache"}
        if content_type is not None:
            headers = {"content-type": content_type, **headers}
        writer.write(self._head(200, headers))
        for n, frame in enumerate(frames):
            if fault is not None and n == fault.after:
                await writer.drain()
                if isinstance(fault, Garbage):
                    writer.write(b"%x\r\n%s\r\n" % (len(fault.data), fault.data))
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    return False
                if isinstance(fault, Stall):
                    await self._pause(fault.seconds)
                writer.transport.abort()
                raise _Closed()
            writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _pause(self, seconds: float) -> None:
        # Bounded: never longer than stall_limit, and cut short when the fake stops.
        try:
            await asyncio.wait_for(self._stopping.wait(), min(seconds, self.stall_limit))
        except asyncio.TimeoutError:
            pass

    # ------------------------------------------------------------ WebSocket (Responses)
    async def _websocket(self, head, target, headers, raw, reader, writer) -> None:
        self.requests.append(Received("websocket_upgrade", "GET", target, headers, b"", raw))
        route = urlsplit(target).path
        refuse = None
        if route not in ("/v1/responses", "/responses"):
            refuse = 404
        elif self.websocket == "refuse":
            refuse = 426
        elif isinstance(self.websocket, int) and self.websocket != 101:
            refuse = self.websocket
        if refuse:
            await self._json(writer, refuse, render.error_body(refuse, "WebSocket upgrade refused by the fake upstream.",
                                                               "invalid_request_error", None), {"connection": "close"})
            return
        ws = WSConnection(ConnectionType.SERVER)
        ws.receive_data(head)
        if not any(isinstance(e, Request) for e in ws.events()):
            return
        writer.write(ws.send(AcceptConnection(extensions=[PerMessageDeflate()])))
        await writer.drain()
        buf: list[str] = []
        state = {"context": 0}  # chars of the chained conversation on this connection
        while True:
            data = await reader.read(65536)
            if not data:
                return
            ws.receive_data(data)
            for ev in ws.events():
                if isinstance(ev, TextMessage):
                    buf.append(ev.data)
                    if ev.message_finished:
                        message, buf = "".join(buf), []
                        rec = Received("websocket", "WS", target, headers, message.encode(), raw)
                        self.requests.append(rec)
                        await self._ws_message(ws, writer, rec, state)
                elif isinstance(ev, BytesMessage):
                    continue
                elif isinstance(ev, Ping):
                    writer.write(ws.send(ev.response()))
                elif isinstance(ev, CloseConnection):
                    writer.write(ws.send(ev.response()))
                    await writer.drain()
                    return

    async def _ws_send(self, ws, writer, obj) -> None:
        data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
        writer.write(ws.send(TextMessage(data=data)))
        await writer.drain()

    async def _ws_message(self, ws, writer, rec: Received, state: dict) -> None:
        msg = rec.json
        if not isinstance(msg, dict) or msg.get("type") != "response.create":
            kind = msg.get("type") if isinstance(msg, dict) else None
            if kind == "response.processed":
                return  # Codex's acknowledgement; the real server sends nothing back
            await self._ws_send(ws, writer, {"type": "error", "status": 400, "error": {
                "type": "invalid_request_error", "code": "unknown_event", "message": f"Unsupported event type {kind!r}."}})
            return
        req = {k: v for k, v in msg.items() if k != "type"}
        if req.get("generate") is False:
            self._with_usage(Turn(), req, len(rec.body), state)
            for ev in render.responses_events(Turn(), req, len(rec.body), generate=False):
                await self._ws_send(ws, writer, ev)
            return
        entry = self._next_entry(rec)
        if isinstance(entry, HttpError):
            await self._ws_send(ws, writer, {"type": "error", "status": entry.status, **self._error_obj(entry),
                                             "headers": entry.headers})
            return
        if isinstance(entry, Failed):
            for ev in render.responses_failed_events(entry, req):
                await self._ws_send(ws, writer, ev)
            return
        entry = self._with_usage(entry, req, len(rec.body), state)
        fault = entry.fault
        for n, ev in enumerate(render.responses_events(entry, req, len(rec.body))):
            if fault is not None and n == fault.after:
                if isinstance(fault, Garbage):
                    await self._ws_send(ws, writer, fault.data.decode("latin-1"))
                    writer.transport.abort()
                    raise _Closed()
                if isinstance(fault, Stall):
                    await self._pause(fault.seconds)
                writer.transport.abort()
                raise _Closed()
            await self._ws_send(ws, writer, ev)
