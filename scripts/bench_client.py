"""Minimal, low-overhead clients for the benchmarks: one SSE turn over keep-alive HTTP, WebSocket turns.

Each call returns timings measured on the client: time to the first text delta and to the end of
the response, in seconds.
"""
from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass

from websockets.sync.client import connect


@dataclass
class TurnResult:
    ok: bool
    first_delta: float | None
    total: float
    status: int
    response_id: str | None = None
    error: str | None = None


class SSEClient:
    """POST /v1/responses with stream: true on one keep-alive connection."""

    def __init__(self, port: int, timeout: float = 60):
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def turn(self, body: bytes) -> TurnResult:
        t0 = time.perf_counter()
        try:
            conn = self._connection()
            conn.request("POST", "/v1/responses", body, {"content-type": "application/json",
                                                         "authorization": "Bearer sk-bench-not-a-real-key",
                                                         "accept": "text/event-stream"})
            resp = conn.getresponse()
            first = None
            buf = b""
            completed = False
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                if first is None and b"response.output_text.delta" in chunk:
                    first = time.perf_counter() - t0
                buf += chunk
            total = time.perf_counter() - t0
            completed = b"response.completed" in buf
            if resp.getheader("connection", "").lower() == "close":
                self.close()
            return TurnResult(resp.status == 200 and completed, first, total, resp.status,
                              error=None if completed else buf[-300:].decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return TurnResult(False, None, time.perf_counter() - t0, 0, error=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class WSClient:
    """The Responses WebSocket, as Codex uses it: one connection, response.create per turn."""

    def __init__(self, port: int, timeout: float = 60):
        self.ws = connect(f"ws://127.0.0.1:{port}/v1/responses", open_timeout=timeout, max_size=None,
                          additional_headers={"authorization": "Bearer sk-bench-not-a-real-key",
                                              "openai-beta": "responses_websockets=2026-02-06"})
        self.timeout = timeout

    def turn(self, message: str) -> TurnResult:
        t0 = time.perf_counter()
        first = None
        rid = None
        try:
            self.ws.send(message)
            while True:
                raw = self.ws.recv(timeout=self.timeout)
                if first is None and "response.output_text.delta" in raw:
                    first = time.perf_counter() - t0
                ev = json.loads(raw)
                t = ev.get("type")
                if t == "response.created":
                    rid = ev["response"]["id"]
                if t in ("response.completed", "response.failed", "response.incomplete", "error"):
                    total = time.perf_counter() - t0
                    return TurnResult(t == "response.completed", first, total, 200, rid,
                                      None if t == "response.completed" else raw[:300])
        except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop
            return TurnResult(False, first, time.perf_counter() - t0, 0, rid, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self.ws.close()
