"""The WebSocket guard: Codex's Responses WebSocket, every frame judged.

Client frames go through the same request pipeline as an HTTP body: a frame is forwarded only when it
is a text frame holding a `response.create` the chain judged whole. Binary frames, other message types,
invalid JSON and frames over `gateway.max_body_mb` are refused with an error event (audited), never
forwarded. Server frames of a turn go through the Responses stream parser; a frame it cannot read
ends the turn with `response.failed`. Frames outside a turn are dropped.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

from mitmproxy import ctx, http

from .. import errors
from ..exchange import Exchange
from ..identity import budget_preflight, budget_refusal
from ..late_usage import LATE_USAGE_WAIT_S, blocked_mid_stream, settle_completion, usage_of_event
from ..runtime import Runtime
from ..turn import Refused, Turn, decode_json, judge_request, new_event_id, now_iso
from ..verdicts import BLOCK, Verdict
from ..wire import requests as wire_requests
from ..wire.responses_stream import failed_event
from ..wire.sse import dumps, loads, loads_event

log = logging.getLogger("keeptrusts")
AUDIT_WAIT_SECONDS = 5.0
CLIENT_TYPES = ("response.create",)
MAX_CALLS = 256


@dataclass
class Connection:
    upgrade: Turn
    turn: Turn | None = None
    injecting: bool = False
    calls: dict = field(default_factory=dict)   # call_id -> (tool name, arguments) of earlier turns


class WebSocketGuard:
    def __init__(self, gw) -> None:
        self.gw = gw
        self.conns: dict[str, Connection] = {}

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        turn = self.gw.turns.pop(flow.id, None)
        if turn is None:
            return
        self.gw.metrics.request_finished()  # the upgrade itself is done; each response.create counts on its own
        self.conns[flow.id] = Connection(turn)

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        conn = self.conns.get(flow.id)
        rt = self.gw.runtime
        if flow.websocket is None:
            return
        msg = flow.websocket.messages[-1]
        if msg.injected:
            return
        if conn is None:
            msg.drop()  # a websocket we did not admit (should not happen): nothing unjudged passes
            return
        try:
            if msg.from_client:
                self._client_frame(flow, conn, msg, rt)
            else:
                fut, inject = self._server_frame(flow, conn, msg, rt)
                if fut is not None:  # the final event waits for its audit row
                    try:
                        await asyncio.wait_for(asyncio.wrap_future(fut), AUDIT_WAIT_SECONDS)
                    except Exception as exc:  # noqa: BLE001
                        log.error("keeptrusts: audit write failed for a websocket turn: %s", exc)
                for text in inject or ():
                    ctx.master.commands.call("inject.websocket", flow, True, text.encode(), True)
        except Exception as exc:
            log.exception("keeptrusts: websocket message handling failed")
            if rt is None or rt.fail_mode == "block":
                msg.drop()
                text = f"Keeptrusts could not check this message ({type(exc).__name__}); fail-mode is block"
                turn = conn.turn
                if not msg.from_client and turn is not None and turn.parser is not None and not turn.parser.finished:
                    for event, _ in turn.parser.fail(text):  # the parser drops every later event of the turn
                        self._inject(flow, conn, event)
                else:
                    self._inject(flow, conn, failed_event(None, text, None))

    def _inject(self, flow: http.HTTPFlow, conn: Connection, event: dict) -> None:
        conn.injecting = True
        ctx.master.commands.call("inject.websocket", flow, True, dumps(event).encode(), True)

    # ------------------------------------------------------------------ client frames
    def _client_frame(self, flow: http.HTTPFlow, conn: Connection, msg, rt: Runtime | None) -> None:
        gw = self.gw
        if conn.turn is not None and not conn.turn.recorded:
            if not conn.turn.exchange.meta.get("awaiting_usage"):
                conn.turn.record["error"] = "superseded by a new client frame"
            gw.submit(conn.turn, flow)
        record = dict(conn.upgrade.record, id=new_event_id(), timestamp=now_iso(), transport="websocket",
                      bytes_in=len(msg.content))
        ex = Exchange(api="responses", transport="websocket", path=record["path"], developer=record.get("developer"))
        turn = Turn(ex, record, time.perf_counter())
        conn.turn = turn
        gw.requests_processed += 1
        gw.metrics.request_started()
        if rt is None:
            return self._refuse(flow, conn, msg, turn, errors.unavailable("Keeptrusts has no valid policy config",
                                                                         "config_invalid"))
        if not gw.audit_healthy() and rt.fail_mode == "block":
            return self._refuse(flow, conn, msg, turn, gw.audit_error())
        if not msg.is_text:
            return self._refuse(flow, conn, msg, turn, errors.validation(
                "Keeptrusts relays only text frames holding response.create on the Responses WebSocket; "
                "a binary frame was refused"))
        try:
            body = decode_json(msg.content, None, None, rt.max_body_bytes, "a WebSocket frame")
        except Refused as exc:
            return self._refuse(flow, conn, msg, turn, exc.error)
        kind = body.get("type") if isinstance(body, dict) else None
        if kind not in CLIENT_TYPES:
            return self._refuse(flow, conn, msg, turn, errors.validation(
                f"Keeptrusts has no model for the WebSocket message type {str(kind)[:60]!r}; only "
                "response.create is relayed"))
        try:
            j = judge_request(rt.chain, ex, "responses", body, headers=gw.lower_headers(flow.request),
                              binary_payloads=rt.binary_payloads, calls=conn.calls,
                              blocked=gw.blocked_items, event_id=turn.event_id)
        except wire_requests.RequestShapeError as exc:
            return self._refuse(flow, conn, msg, turn, errors.validation(f"Malformed response.create: {exc}"))
        turn.result = j.result
        ex.meta["unscanned"] = j.unscanned
        record["model"] = ex.model
        if j.refusal:
            record["request_body"] = j.audit_body
            return self._refuse(flow, conn, msg, turn, j.refusal)
        over = budget_preflight(record.get("developer"), turn.event_id, ex.model, j.forward, body, rt.config,
                                record["path"], self.gw.budgets)
        if over is not None:  # the turn that would cross the budget never leaves
            record["request_body"] = j.forward
            return self._refuse(flow, conn, msg, turn, budget_refusal(over))
        msg.content = j.forward.encode()  # exactly what was judged, re-serialised
        record["request_body"] = j.forward
        gw.warm_audit(j.forward)
        turn.parser = gw.parser(turn, rt)
        turn.forwarded_at = time.perf_counter()
        if rt.upstream_timeout > 0:
            turn.watchdog = asyncio.ensure_future(self._watch_turn(flow, conn, turn, rt.upstream_timeout))

    def _refuse(self, flow, conn: Connection, msg, turn: Turn, err: errors.GatewayError) -> None:
        if not turn.result.blocked:
            turn.result.verdicts.append(Verdict("gateway", BLOCK, err.code, err.message))
        msg.drop()
        turn.record["status"] = err.status
        if err.status != 409:
            turn.record["error"] = err.message
        message = self.gw.with_event_hint(err.message, turn)
        self._inject(flow, conn, failed_event({"id": "resp_keeptrusts_" + secrets.token_hex(8), "object": "response",
                                              "model": turn.exchange.model}, message, None))
        self.gw.submit(turn, flow)

    async def _watch_turn(self, flow: http.HTTPFlow, conn: Connection, turn: Turn, timeout: float) -> None:
        """gateway.upstream_timeout_seconds for a WebSocket turn: no server event for that long ends the
        turn with response.failed (the connection stays open for the next response.create)."""
        gw = self.gw
        while not turn.recorded and conn.turn is turn and flow.live:
            left = (turn.last_activity or turn.forwarded_at or turn.started) + timeout - time.perf_counter()
            if left > 0:
                await asyncio.sleep(left)
                continue
            if turn.parser is None or turn.parser.finished or flow.id not in self.conns:
                return
            msg = (f"Keeptrusts: the upstream {gw.runtime.upstream.url if gw.runtime else ''} sent nothing for "
                   f"{timeout:g}s (gateway.upstream_timeout_seconds)")
            log.warning("keeptrusts: %s; websocket turn %s", msg, turn.event_id)
            turn.record["status"], turn.record["error"] = 504, msg
            for event, _ in turn.parser.fail(msg):  # its late events are dropped from now on
                self._inject(flow, conn, event)
            gw.submit(turn, flow)
            return

    # ------------------------------------------------------------------ server frames
    def _server_frame(self, flow: http.HTTPFlow, conn: Connection, msg, rt: Runtime | None):
        """Returns (audit future or None, messages to inject after it commits or None)."""
        turn = conn.turn
        if turn is not None and turn.exchange.meta.get("awaiting_usage") and not turn.recorded:
            msg.drop()  # after a block nothing reaches the client; the terminal event's usage is recorded
            try:
                late = loads(msg.content) if msg.is_text else None
            except ValueError:
                late = None
            usage, terminal = usage_of_event(late)
            settle_completion(turn.parser, usage)
            return (self.gw.submit(turn, flow) if terminal else None), None
        if turn is None or turn.parser is None or turn.recorded or turn.parser.finished:
            # Outside a judged turn (before the first response.create, after a block or the end): nothing
            # the upstream sends is passed on unjudged.
            msg.drop()
            return None, None
        turn.last_activity = time.perf_counter()
        if turn.first_byte_at is None:
            turn.first_byte_at = turn.last_activity
        event = None
        if msg.is_text:
            try:
                event = loads_event(msg.text)  # duplicate keys refused, as on SSE
            except ValueError:
                event = None
        if not isinstance(event, dict):
            msg.drop()
            out = turn.parser.fail("Keeptrusts could not read an upstream WebSocket frame "
                                   f"({'binary' if not msg.is_text else 'not a JSON event'}); the turn was ended")
            turn.record["error"] = "unreadable upstream frame"
            inject = [dumps(obj) for obj, _ in out]
        else:
            raw = msg.text
            out = turn.parser.feed(event, raw)
            inject = None
            # Once one message was held or rewritten, every later one is re-injected too: injected messages
            # are queued behind the live stream, so only injecting them all keeps the events in order.
            if conn.injecting or not (len(out) == 1 and out[0][1] is raw):
                msg.drop()
                conn.injecting = True
                inject = [(r if r is not None else dumps(obj)) for obj, r in out]
        if inject:
            conn.injecting = True
        fut = None
        if turn.parser.finished:
            for item in turn.parser.completion.items:
                if item.is_tool_call and item.call_id:
                    conn.calls[item.call_id] = (item.name, item.original)
            while len(conn.calls) > MAX_CALLS:  # bounded: only recent calls are ever answered
                conn.calls.pop(next(iter(conn.calls)))
            turn.record["status"] = 409 if turn.parser.blocked else 200
            if blocked_mid_stream(turn.parser) and not (isinstance(event, dict) and usage_of_event(event)[1]):
                # Blocked before the upstream's terminal event: record the turn when its usage arrives
                # (bounded: LATE_USAGE_WAIT_S, the next client frame or the connection's end).
                turn.exchange.meta["awaiting_usage"] = True
                asyncio.get_running_loop().call_later(LATE_USAGE_WAIT_S, self._late_record, flow, turn)
                return None, inject
            fut = self.gw.submit(turn, flow)
        return fut, inject

    def _late_record(self, flow: http.HTTPFlow, turn: Turn) -> None:
        if not turn.recorded:
            self.gw.submit(turn, flow)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        conn = self.conns.pop(flow.id, None)
        if conn and conn.turn is not None and not conn.turn.recorded:
            turn = conn.turn
            if not turn.exchange.meta.get("awaiting_usage"):
                turn.record["error"] = (flow.websocket.close_reason if flow.websocket else None) or \
                    "websocket closed before the response completed"
            self.gw.submit(turn, flow)
