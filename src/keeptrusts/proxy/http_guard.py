"""The HTTP guard: every request to an API host goes through the turn pipeline or is refused.

Closed world: the route table (wire/routes.py) decides what is modelled. A modelled POST is decoded
(bounded, off the event loop), parsed, judged whole and forwarded as re-serialised; a bodiless read
is forwarded without a body after its query and headers are judged; anything else is refused with an
envelope naming the path and the switch (`gateway.unknown_endpoints`). Answers are judged the same
way: streams by the wire parsers whatever their content type, JSON by the item judge, and a 2xx
answer the gateway cannot read is not passed on under fail-mode block.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time

from mitmproxy import ctx, http

from .. import errors
from ..identity import budget_preflight, budget_refusal
from ..late_usage import LateUsage, blocked_mid_stream, settle_completion
from ..runtime import Runtime
from ..turn import Refused, Turn, decode_json, judge_request
from ..verdicts import BLOCK
from ..wire import requests as wire_requests
from ..wire.responses_json import judge_response_body
from ..wire.responses_stream import failed_event
from ..wire.routes import PathError, route
from ..wire.sse import SSEStream, dumps, loads
from .routing import is_api_flow, point_at_upstream

log = logging.getLogger("keeptrusts")
AUDIT_WAIT_SECONDS = 5.0
OFFLOOP_DECODE_BYTES = 64 * 1024   # compressed bodies above this are expanded in a worker thread


def frame_event(obj: dict) -> bytes:
    """One SSE event for an event the gateway makes (Responses events carry `event:`, chat chunks do not)."""
    kind = obj.get("type") if isinstance(obj.get("type"), str) and "." in obj.get("type", "") else None
    return ((f"event: {kind}\n" if kind else "") + f"data: {dumps(obj)}\n\n").encode()


def is_sse_body(first: bytes) -> bool:
    head = first.lstrip(b"\xef\xbb\xbf \t\r\n")[:16]
    return head.startswith((b"event:", b"data:", b"id:", b":", b"retry:"))


class HttpGuard:
    def __init__(self, gw) -> None:
        self.gw = gw
        self.recorded: dict[str, http.Response] = {}

    # ------------------------------------------------------------------ request
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # A flow loaded from a file (`mitmdump -nr FILE`) arrives with its recorded response: set it aside
        # so the request is judged as if live, and put it back unless the chain answered it (a block).
        if not flow.live and flow.response is not None:
            flow.metadata["keeptrusts_recorded_response"] = True
            self.recorded[flow.id] = flow.response
            flow.response = None

    async def request(self, flow: http.HTTPFlow) -> None:
        try:
            await self._request(flow)
        finally:
            recorded = self.recorded.pop(flow.id, None)
            if recorded is not None and flow.response is None:
                flow.response = recorded

    async def _request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.request.method == "CONNECT":
            return
        gw, rt = self.gw, self.gw.runtime
        try:
            if rt is None:
                gw.answer(flow, errors.unavailable(f"Keeptrusts has no valid policy config: {gw.config_error}",
                                                   "config_invalid"))
                return
            if not is_api_flow(flow, rt):
                if not rt.egress_allowed(flow.request.host):
                    gw.answer(flow, errors.GatewayError(
                        403, "policy_violation", "egress_denied",
                        f"Keeptrusts egress allow-list: {flow.request.host} is not allowed", policy="gateway"))
                return  # not model traffic: passes untouched
            flow.metadata["keeptrusts_origin"] = {"host": flow.request.pretty_host, "mode": gw.mode_of(flow)}
            point_at_upstream(flow, rt)
            await self._guard(flow, rt)
            turn = gw.turns.get(flow.id)
            if turn is not None and flow.response is None and rt.upstream_timeout > 0:
                turn.watchdog = asyncio.ensure_future(self._watch_upstream(flow, turn, rt.upstream_timeout))
        except Exception as exc:  # fail closed
            log.exception("keeptrusts: request handling failed")
            if rt is None or rt.fail_mode == "block":
                turn = gw.turns.get(flow.id)
                if turn:
                    turn.record["error"] = f"{type(exc).__name__}: {exc}"[:500]
                gw.answer(flow, errors.unavailable(
                    f"Keeptrusts could not check this request ({type(exc).__name__}); fail-mode is block, "
                    "so it was not sent", "gateway_error"), BLOCK, turn)

    async def _guard(self, flow: http.HTTPFlow, rt: Runtime) -> None:
        gw = self.gw
        started = time.perf_counter()
        req = flow.request
        is_ws = req.headers.get("upgrade", "").lower() == "websocket"
        try:
            r = route(req.method, req.path, websocket=is_ws)
        except PathError as exc:
            r = None
            path_error = str(exc)
        api = r.api if r else "unknown"
        turn = gw.new_turn(flow, rt, "responses" if api == "websocket" else api,
                           "websocket" if is_ws else "http", started)
        if r is None:
            return gw.refuse(flow, turn, errors.GatewayError(
                400, "validation_error", "invalid_path",
                f"Keeptrusts refuses the request path {req.path.split('?', 1)[0]!r}: {path_error}. "
                "Send the plain API path (e.g. /v1/responses)."))
        query = req.path.partition("?")[2]
        # What goes upstream is the canonical path: the spelling that was routed is the one judged.
        req.path = r.path + (f"?{query}" if query else "")
        turn.record["path"] = turn.exchange.path = r.path
        err = gw.admit(flow, rt, turn)
        if err is not None:
            return gw.refuse(flow, turn, err)
        if is_ws:
            if r.api != "websocket":
                return gw.refuse(flow, turn, errors.GatewayError(
                    404, "validation_error", "websocket_not_modelled",
                    f"Keeptrusts has no model for a WebSocket on {r.path}; only the Responses WebSocket "
                    "(/v1/responses) is relayed."))
            # The upgrade carries no prompt; each client frame is judged by the WebSocket guard. Its query
            # string and headers are judged now.
            return self._judge_bodiless(flow, rt, turn, query, keep_turn=True)
        if r.api == "read":
            return self._judge_bodiless(flow, rt, turn, query)
        if r.api == "unknown":
            if rt.unknown_endpoints != "forward" or not req.raw_content:
                return gw.refuse(flow, turn, errors.GatewayError(
                    404 if r.method == "POST" else 405, "policy_violation", "endpoint_not_modelled",
                    f"Keeptrusts has no model for {r.method} {r.path}, so it was not sent: only the OpenAI API "
                    "endpoints it can judge are forwarded (chat/completions, responses, responses/compact, "
                    "responses/input_tokens, embeddings, completions, conversations). To forward other JSON "
                    "endpoints after a generic scan of every string, set gateway.unknown_endpoints: forward.",
                    policy="gateway"))
            api = "generic"  # forward mode: the closed-world floor (every string) still applies
        await self._judge_body(flow, rt, turn, api, query)

    def _judge_bodiless(self, flow, rt: Runtime, turn: Turn, query: str, keep_turn: bool = False) -> None:
        gw = self.gw
        req = flow.request
        if req.raw_content and not keep_turn:
            req.content = b""  # a read carries no body upstream: nothing unjudged rides along
            turn.record["note"] = "request body dropped (not modelled for this method)"
        j = judge_request(rt.chain, turn.exchange, "generic", {}, query=query, headers=gw.lower_headers(req),
                          binary_payloads=rt.binary_payloads)
        turn.result = j.result
        if j.refusal:
            return gw.refuse(flow, turn, j.refusal)
        self._apply_query_headers(req, j)
        if not keep_turn:
            turn.record["reason_code"] = "bodiless_read"
        turn.forwarded_at = time.perf_counter()

    @staticmethod
    def _apply_query_headers(req: http.Request, j) -> None:
        if j.query is not None:
            req.path = req.path.partition("?")[0] + "?" + j.query
        for name, value in j.headers.items():
            req.headers[name] = value

    async def _judge_body(self, flow: http.HTTPFlow, rt: Runtime, turn: Turn, api: str, query: str) -> None:
        gw = self.gw
        req = flow.request
        raw = req.raw_content or b""
        enc = req.headers.get("content-encoding")
        ctype = req.headers.get("content-type", "")
        args = (raw, enc, ctype, rt.max_body_bytes, turn.record["path"])
        try:
            if enc and len(raw) > OFFLOOP_DECODE_BYTES:
                body = await asyncio.to_thread(decode_json, *args)  # a bomb never blocks other flows
            else:
                body = decode_json(*args)
        except Refused as exc:
            return gw.refuse(flow, turn, exc.error)
        try:
            j = judge_request(rt.chain, turn.exchange, api, body, query=query, headers=gw.lower_headers(req),
                              binary_payloads=rt.binary_payloads, blocked=gw.blocked_items, event_id=turn.event_id)
        except wire_requests.RequestShapeError as exc:
            return gw.refuse(flow, turn, errors.validation(f"Malformed {api} request: {exc}"))
        turn.result = j.result
        ex = turn.exchange
        ex.meta["unscanned"] = j.unscanned
        turn.record["model"] = ex.model
        stream = bool(body.get("stream")) if isinstance(body, dict) else False
        turn.record["stream"] = stream
        if j.refusal:
            turn.record["request_body"] = j.audit_body
            if api == "responses" and stream and j.blocked:
                return self._block_as_stream(flow, turn, j.blocked.message)
            return gw.refuse(flow, turn, j.refusal, None)
        over = budget_preflight(turn.record.get("developer"), turn.event_id, ex.model, j.forward, body, rt.config,
                                turn.record["path"], gw.budgets)
        if over is not None:  # the request that would cross the budget never leaves
            turn.record["request_body"] = j.forward
            return gw.refuse(flow, turn, budget_refusal(over))
        # Forward exactly what was judged: re-serialised (duplicate keys, comments, odd encodings gone),
        # identity-encoded, and ask for an identity-encoded answer the stream parsers can read.
        req.headers.pop("content-encoding", None)
        req.headers["content-type"] = "application/json"
        req.headers["accept-encoding"] = "identity"
        req.content = j.forward.encode()
        self._apply_query_headers(req, j)
        turn.record["request_body"] = j.forward
        gw.warm_audit(j.forward)
        turn.forwarded_at = time.perf_counter()

    def _block_as_stream(self, flow: http.HTTPFlow, turn: Turn, message: str) -> None:
        """A blocked streaming Responses request: answer as the model would, with `response.failed`.

        Codex shows a `response.failed` (code invalid_prompt) and stops the turn, where it would retry
        an HTTP 409 five times (measured with Codex CLI 0.169.0)."""
        message = self.gw.with_event_hint(message, turn)
        resp = {"id": "resp_keeptrusts_" + secrets.token_hex(8), "object": "response", "status": "in_progress",
                "model": turn.exchange.model, "output": []}
        created = {"type": "response.created", "sequence_number": 0, "response": resp}
        failed = failed_event(resp, message, 1)
        body = "".join(f"event: {e['type']}\ndata: {dumps(e)}\n\n" for e in (created, failed)).encode()
        flow.response = http.Response.make(200, body, {"content-type": "text/event-stream", "cache-control": "no-cache",
                                                       "x-keeptrusts-verdict": BLOCK,
                                                       "x-keeptrusts-event-id": turn.event_id})
        turn.record["status"] = 409  # audited as the policy block it is

    # ------------------------------------------------------------------ response
    def _expects_stream(self, turn: Turn) -> bool:
        return bool(turn.record.get("stream")) and turn.exchange.api in ("responses", "chat")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        gw, rt = self.gw, self.gw.runtime
        turn = gw.turns.get(flow.id)
        if turn is None or rt is None or flow.response is None:
            return
        turn.first_byte_at = turn.last_activity = time.perf_counter()
        resp = flow.response
        ctype = resp.headers.get("content-type", "").lower()
        if resp.status_code == 101:
            if turn.watchdog is not None:
                turn.watchdog.cancel()  # a websocket lives as long as the client wants
            return
        if resp.status_code >= 400:
            return  # error answers are buffered and recorded; they carry no tool call
        if "text/event-stream" in ctype or self._expects_stream(turn):
            # Streamed whatever the content type says (text/plain, none): the parser decides what it is.
            turn.parser = gw.parser(turn, rt)
            turn.record["transport"] = turn.exchange.transport = "sse"
            encoded = resp.headers.get("content-encoding", "identity").lower() not in ("identity", "")
            turn.stream = stream = SSEStream(turn.parser, on_terminal=lambda: self._terminal(turn))
            if encoded:
                # We asked for identity; an encoded stream cannot be judged event by event.
                flow.response.stream = lambda data: self._encoded_stream(flow, turn)
                return

            late = LateUsage()

            def relay(data: bytes):
                turn.last_activity = time.perf_counter()
                out = stream(data)
                if blocked_mid_stream(turn.parser) and not turn.recorded:
                    # Blocked: the client has its response.failed; the upstream's usage is still billed.
                    settle_completion(turn.parser, late.feed(data))
                return out
            flow.response.stream = relay

    def _encoded_stream(self, flow: http.HTTPFlow, turn: Turn) -> list[bytes]:
        if turn.parser.finished:
            return []
        msg = ("Keeptrusts could not read the model's stream (content-encoding "
               f"{flow.response.headers.get('content-encoding')}); it was not passed on")
        turn.record["error"] = msg
        return [frame_event(obj) for obj, _ in turn.parser.fail(msg)]

    async def _watch_upstream(self, flow: http.HTTPFlow, turn: Turn, timeout: float) -> None:
        """gateway.upstream_timeout_seconds: no answer (or, on a stream, no new bytes) for that long ends
        the exchange: a 504 `upstream_timeout` when nothing was sent yet, else the stream is cut."""
        gw = self.gw
        while not turn.recorded and flow.live:
            since = turn.last_activity or turn.forwarded_at or turn.started
            left = since + timeout - time.perf_counter()
            if left > 0:
                await asyncio.sleep(left)
                continue
            if flow.response is not None and turn.stream is None:
                return  # a buffered body that started arriving: mitmproxy's tcp_timeout guards the rest
            msg = (f"Keeptrusts: the upstream {gw.runtime.upstream.url if gw.runtime else ''} sent nothing for "
                   f"{timeout:g}s (gateway.upstream_timeout_seconds)")
            flow.metadata["keeptrusts_timeout"] = msg
            turn.record["status"], turn.record["error"] = 504, msg
            log.warning("keeptrusts: %s; %s %s", msg, flow.request.method, flow.request.path)
            proxy = ctx.master.addons.get("proxyserver")
            handler = proxy.connections.get(flow.client_conn.id) if proxy else None
            io = handler.transports.get(flow.server_conn) if handler else None
            if io is not None and io.handler is not None:
                io.handler.cancel("upstream timeout")
            else:
                flow.kill()
            return

    def _terminal(self, turn: Turn) -> None:
        """The final event is about to reach the client: record the exchange first (and wait for the commit)."""
        if turn.recorded:
            return
        if blocked_mid_stream(turn.parser) and turn.stream is not None and not turn.stream.ended:
            # The gateway blocked mid-stream: the record waits for the upstream's terminal event (its usage);
            # `response` (upstream done) or `error` (client gone) records it.
            turn.record["status"] = 409
            return
        fut = self.gw.submit(turn)
        if fut is not None:
            try:
                fut.result(timeout=AUDIT_WAIT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - reported, the stream itself is already out
                log.error("keeptrusts: audit write failed for %s: %s", turn.event_id, exc)

    async def response(self, flow: http.HTTPFlow) -> None:
        gw, rt = self.gw, self.gw.runtime
        turn = gw.turns.get(flow.id)
        if turn is None:
            return
        if turn.watchdog is not None:
            turn.watchdog.cancel()
        try:
            if flow.response is not None and flow.response.status_code != 101:
                # A stream callable that never ran means the body arrived whole (a replayed flow): judge it here.
                buffered = turn.stream is None or (not turn.stream.ended and flow.response.raw_content)
                if buffered and rt is not None and turn.record.get("status") is None:
                    turn.stream = None
                    self._judge_buffered_response(flow, turn, rt)
        except Exception as exc:
            log.exception("keeptrusts: response handling failed")
            if rt is None or rt.fail_mode == "block":
                turn.record["error"] = f"{type(exc).__name__}: {exc}"[:500]
                gw.answer(flow, errors.unavailable(
                    f"Keeptrusts could not check the model's answer ({type(exc).__name__}); fail-mode is block",
                    "gateway_error"), BLOCK, turn)
        if flow.response is not None and flow.response.status_code == 101:
            return  # the websocket carries its own exchanges
        fut = None if turn.recorded else gw.submit(turn, flow)
        gw.turns.pop(flow.id, None)
        if fut is not None:
            try:
                await asyncio.wait_for(asyncio.wrap_future(fut), AUDIT_WAIT_SECONDS)
            except Exception as exc:  # noqa: BLE001
                log.error("keeptrusts: audit write failed for %s: %s", turn.event_id, exc)
                # Withhold an upstream answer whose row failed; a refusal (nothing was sent) keeps its own reason.
                if rt is not None and rt.fail_mode == "block" and turn.stream is None and turn.forwarded_at:
                    gw.answer(flow, errors.unavailable(
                        f"Keeptrusts could not record this exchange in the audit log ({exc}); fail-mode is block",
                        "audit_unavailable"), BLOCK, turn)

    def _judge_buffered_response(self, flow: http.HTTPFlow, turn: Turn, rt: Runtime) -> None:
        gw = self.gw
        resp = flow.response
        if resp.status_code >= 400:
            turn.response_body = resp.get_text(strict=False)
            return
        try:
            content = resp.get_content(strict=True) or b""
        except ValueError:
            content = None
        if content is not None and is_sse_body(content[:64]):
            # A buffered stream (replayed flows, streaming disabled, a stream with a JSON content type).
            turn.parser = gw.parser(turn, rt)
            sse = SSEStream(turn.parser)
            resp.content = b"".join(sse(content)) + b"".join(sse(b""))
            resp.headers.pop("content-encoding", None)
            return
        body = None
        if content is not None:
            try:
                body = loads(content or b"null")
            except ValueError:
                body = None
        if not isinstance(body, dict):
            if turn.exchange.api in ("responses", "chat", "conversations", "generic") and content \
                    and rt.fail_mode == "block":
                turn.record["error"] = "unreadable answer"
                gw.answer(flow, errors.upstream(502, (
                    "Keeptrusts could not read the model's answer (not JSON and not an event stream; "
                    f"content-type {resp.headers.get('content-type')!r}), so it was not passed on")), BLOCK, turn)
            return
        turn.response_body = resp.get_text(strict=False)
        api = turn.exchange.api
        if api not in ("responses", "chat"):
            # A read (GET /v1/responses/{id}) or another endpoint can return model output too: its tool
            # calls are judged like any answer's.
            api = "responses" if "output" in body else "chat" if "choices" in body else api
        changed, message, comp = judge_response_body(api, body, gw.output_judge(turn, rt))
        turn.exchange.completion = comp
        quality = next((v.score for v in turn.output_result.verdicts
                        if v.policy == "quality-scorer" and v.score is not None), None)
        if quality is not None:
            resp.headers["x-keeptrusts-quality"] = f"{quality:.3f}"
        if message:
            blocked = turn.output_result.blocked
            err = errors.policy_block(blocked.policy if blocked else "gateway", message, phase="output")
            gw.answer(flow, err, BLOCK, turn)
            return
        if changed:
            resp.content = dumps(body).encode()

    def error(self, flow: http.HTTPFlow) -> None:
        gw = self.gw
        timed_out = flow.metadata.get("keeptrusts_timeout")
        turn = gw.turns.get(flow.id)
        if flow.response is None:  # mitmproxy builds an error page next, in this same task
            gw.error_pages.expect(errors.upstream(504, timed_out) if timed_out else None,
                                  turn.event_id if turn is not None else None)
        turn = gw.turns.pop(flow.id, None)
        if turn is not None and turn.watchdog is not None:
            turn.watchdog.cancel()
        if turn is None or turn.recorded:
            return
        msg = timed_out or (flow.error.msg if flow.error else "unknown error")
        turn.record["error"] = msg
        if turn.record.get("status") is None:
            turn.record["status"] = 504 if "timeout" in msg.lower() else 502
        gw.submit(turn, flow)
