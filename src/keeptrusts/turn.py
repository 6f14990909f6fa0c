"""One turn, transport-free: request in -> forward(body) or refuse(error); an output judge; the audit record.

The HTTP guard, the WebSocket guard and `kt policy test` all call this module, so no transport can
forget a check another one makes. Closed world: a body is forwarded only as the gateway re-serialised
it after the chain judged every string in it (typed segments, then every other string, query values
and non-standard header values); embedded payloads the chain cannot read follow
`gateway.binary_payloads`. Nothing here imports mitmproxy.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from . import blocked_items, errors
from .chain import ChainResult
from .exchange import OTHER, Completion, Exchange, OutputItem, Segment
from .redaction import Scope, scoped
from .verdicts import BLOCK, Verdict, worst
from .wire import requests as wire_requests
from .wire.decode import DecodeError, TooLarge, decode_or_error
from .wire.sse import dumps, loads

# Headers that are transport or credentials, never prompt text: not scanned, never rewritten.
UNSCANNED_HEADERS = frozenset({
    "authorization", "api-key", "proxy-authorization", "cookie", "host", "content-length", "content-type",
    "content-encoding", "accept-encoding", "accept", "connection", "transfer-encoding", "upgrade", "te",
    "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol",
    "keep-alive", "user-agent", "origin",
})
CREDENTIAL_HEADERS = ("authorization", "api-key", "proxy-authorization", "cookie")
BINARY_DEFAULTS = {"images": "allow", "files": "block"}


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex[:24]


@dataclass
class Turn:
    """One exchange in flight: an HTTP request, or one response.create over a WebSocket."""

    exchange: Exchange
    record: dict
    started: float
    result: ChainResult = field(default_factory=ChainResult)
    parser: Any = None                       # ResponsesStream | ChatStream
    stream: Any = None                       # SSEStream
    forwarded_at: float | None = None
    first_byte_at: float | None = None
    recorded: bool = False
    output_result: ChainResult = field(default_factory=ChainResult)
    response_body: str | None = None
    last_activity: float | None = None       # upstream bytes last seen (for the upstream timeout)
    watchdog: Any = None                     # asyncio.Task

    @property
    def event_id(self) -> str:
        return self.record["id"]


# ------------------------------------------------------------------------------------------ request side

class Refused(Exception):
    """The request cannot be judged as sent: answer with `error` (a GatewayError), forward nothing."""

    def __init__(self, error: errors.GatewayError):
        super().__init__(error.message)
        self.error = error


def decode_json(raw: bytes, encoding: str | None, content_type: str | None, limit: int, where: str) -> Any:
    """Bytes of a request body (or a WebSocket frame) -> parsed JSON. Raises Refused."""
    if len(raw) > limit:
        raise Refused(errors.too_large(len(raw), limit))
    if content_type and "json" not in content_type.lower():
        raise Refused(errors.validation(f"Content-Type must be application/json for {where}, got {content_type!r}"))
    try:
        content = decode_or_error(raw, encoding, limit)
    except TooLarge:
        raise Refused(errors.too_large(limit + 1, limit)) from None
    except DecodeError as exc:
        raise Refused(errors.validation(f"Cannot decode the request body of {where} ({encoding}): {exc}")) from None
    try:
        return loads(content)
    except ValueError as exc:
        text = str(exc).lower()
        if "utf-8" in text:
            raise Refused(errors.validation(f"Request body of {where} is not valid UTF-8: {exc}")) from None
        if "recursion" in text:
            raise Refused(errors.validation(f"Request body JSON of {where} is nested too deeply")) from None
        raise Refused(errors.validation(f"Request body of {where} is not valid JSON: {exc}")) from None


def query_segments(query: str) -> tuple[list[tuple[str, str]], list[Segment]]:
    pairs = parse_qsl(query, keep_blank_values=True)
    segs = []
    for i, (k, v) in enumerate(pairs):
        if k:
            segs.append(Segment(("<query>", i, "name"), OTHER, k, "other", encoding="query"))
        if v:
            segs.append(Segment(("<query>", i, "value"), OTHER, v, "other", encoding="query"))
    return pairs, segs


def header_segments(headers: dict[str, str]) -> list[Segment]:
    return [Segment(("<header>", name), OTHER, value, "other", encoding="header")
            for name, value in headers.items() if name not in UNSCANNED_HEADERS and value]


def fill_exchange(ex: Exchange, body: Any, headers: dict[str, str]) -> None:
    ex.model = wire_requests.request_field(body, "model")
    ex.session_id = (headers.get("session_id") or headers.get("x-session-id") or headers.get("conversation_id")
                     or headers.get("x-conversation-id") or wire_requests.request_field(body, "prompt_cache_key"))
    ex.headers = {k: v for k, v in headers.items() if k not in CREDENTIAL_HEADERS}


@dataclass
class RequestJudgement:
    """What the chain decided about one request body."""

    result: ChainResult
    body: Any
    segments: list[Segment]
    refusal: errors.GatewayError | None = None   # blocked: answer with this, forward nothing
    forward: str | None = None                    # the body to send upstream (always re-serialised)
    query: str | None = None                      # the query string to send (rebuilt when redacted)
    headers: dict[str, str] = field(default_factory=dict)  # header values to replace (redacted)
    audit_body: str | None = None
    unscanned: list[str] = field(default_factory=list)     # payloads passed unread (binary_payloads: allow)

    @property
    def blocked(self) -> Verdict | None:
        return self.result.blocked


def judge_request(chain, ex: Exchange, api: str, body: Any, *, query: str = "", headers: dict[str, str] | None = None,
                  binary_payloads: dict | None = None, calls: dict | None = None,
                  blocked: "blocked_items.BlockedItems | None" = None, event_id: str | None = None) -> RequestJudgement:
    """Parse `body` with the model of `api`, run the chain over every string, write edits back.

    `calls` (WebSocket): call_id -> (tool name, arguments) of earlier turns, so a tool output that
    arrives without its call can still be attributed. `blocked`: the memory of blocked items; texts
    blocked before are replaced by a stub before the chain runs, and a block is remembered under
    `event_id` (this turn's audit event). Raises wire_requests.RequestShapeError for a body that is not
    the endpoint's shape."""
    headers = headers or {}
    segments, tools, unreadable = wire_requests.extract_all(api, body)
    if calls:
        for seg in segments:
            if seg.tool_name is None and seg.call_id in calls:
                seg.tool_name = calls[seg.call_id][0]
        ex.meta["call_args"] = {cid: args for cid, (_, args) in calls.items()}
    pairs, qsegs = query_segments(query)
    hsegs = header_segments(headers)
    ex.segments = segments + qsegs + hsegs
    ex.tools = tools
    fill_exchange(ex, body, headers)
    policy = dict(BINARY_DEFAULTS, **(binary_payloads or {}))
    unscanned, refused = [], []
    for u in unreadable:
        decision = policy["images"] if u.kind == "image" else policy["files"]
        if u.kind == "undecodable":
            decision = "block"  # text that claims to be text but is not: never guess
        (unscanned if decision == "allow" else refused).append(u)
    result = ChainResult()
    if refused:
        u = refused[0]
        msg = (f"Blocked by keeptrusts gateway: {u.where} holds a {u.mime} payload the policy chain cannot read "
               f"({u.kind}); it was not sent. Send text, or allow such payloads with gateway.binary_payloads."
               f"{'images' if u.kind == 'image' else 'files'}: allow")
        result.verdicts.append(Verdict("gateway", BLOCK, "unreadable_payload", msg, "input"))
        j = RequestJudgement(result, body, ex.segments, refusal=errors.policy_block("gateway", msg))
        j.audit_body = blocked_body_text(body, segments, result)
        return j
    scope = blocked_items.scope_of(ex.developer, ex.session_id)
    stubbed = blocked_items.stub_known(blocked, scope, ex.segments, chain)
    with scoped(Scope.of(ex.developer, ex.session_id)):
        result = chain.request(ex)
    if stubbed is not None:
        result.verdicts.insert(0, stubbed)
    j = RequestJudgement(result, body, ex.segments, unscanned=[f"{u.where} ({u.mime})" for u in unscanned])
    if result.blocked:
        if blocked_items.remember_block(blocked, scope, result.blocked, ex.segments, chain, event_id):
            result.blocked.message = f"{result.blocked.message}. {blocked_items.CONTINUE_HINT}"
        j.refusal = errors.policy_block(result.blocked.policy, result.blocked.message)
        j.audit_body = blocked_body_text(body, segments, result)
        return j
    wire_requests.apply(body, segments)
    j.forward = j.audit_body = dumps(body)
    if any(s.changed for s in qsegs):
        for s in qsegs:
            i, part = s.path[1], s.path[2]
            k, v = pairs[i]
            pairs[i] = (s.text, v) if part == "name" else (k, s.text)
        j.query = urlencode(pairs)
    j.headers = {s.path[1]: s.text for s in hsegs if s.changed}
    return j


def blocked_body_text(body: Any, segments: list[Segment], result: ChainResult) -> str:
    """The body of a blocked request as the audit keeps it: redactions applied, and any text in which a
    policy found something it blocked on (without redacting it) withheld, so no secret lands in the audit."""
    flagged: dict[str, set[str]] = {}
    for v in result.verdicts:
        for f in v.findings:
            if f.where and not f.placeholder:
                flagged.setdefault(f.where, set()).add(f.type)
    for seg in segments:
        if seg.where in flagged and not seg.changed:
            seg.text = f"[withheld by keeptrusts: {', '.join(sorted(flagged[seg.where]))}]"
    wire_requests.apply(body, segments)
    return dumps(body)


# ------------------------------------------------------------------------------------------ output side

class OutputJudge:
    """The wire parsers' judge for one turn: runs the chain's output hooks and restores placeholders."""

    def __init__(self, chain, turn: Turn, redactor=None, restore: bool = True):
        self.chain, self.turn, self.redactor = chain, turn, redactor
        self.restoring = bool(restore and redactor is not None)
        self.scope = Scope.of(turn.exchange.developer, turn.exchange.session_id)

    def item(self, item: OutputItem) -> str | None:
        with scoped(self.scope):
            res = self.chain.output_item(self.turn.exchange, item)
        self.turn.output_result.extend(res)
        if item.is_tool_call and self.restoring:
            # Only this identity's placeholders, and never into a call that sends data off the machine.
            item.text = self.redactor.restore_tool_call(item.kind, item.name, item.text, self.scope).text
        blocked = res.blocked
        return blocked.message if blocked else None

    def done(self, completion: Completion) -> str | None:
        self.turn.exchange.completion = completion
        with scoped(self.scope):
            res = self.chain.response(self.turn.exchange)
        self.turn.output_result.extend(res)
        blocked = res.blocked
        return blocked.message if blocked else None

    def unjudged(self, what: str) -> str | None:
        """The parser met a shape it has no model for: under fail-mode block that ends the turn."""
        from .wire.judge import unjudged_message
        msg = unjudged_message(what)
        block = getattr(self.chain, "fail_mode", "block") == "block"
        self.turn.output_result.verdicts.append(
            Verdict("gateway", BLOCK if block else "flag", "unjudged_output", msg, "output"))
        return msg if block else None

    def restore(self, text: str) -> str:
        if not self.restoring:
            return text
        return self.redactor.restore(text, self.scope)[0]


# ------------------------------------------------------------------------------------------ audit record

def finish_record(turn: Turn, status: int | None = None, bytes_out: int | None = None) -> dict:
    """Complete the turn's audit record (verdicts, output, durations); returns it."""
    rec = turn.record
    now = time.perf_counter()
    verdicts = turn.result.verdicts + turn.output_result.verdicts
    rec["policies"] = [v.to_dict() for v in verdicts]
    rec["verdict"] = worst([v.verdict for v in verdicts])
    if rec.get("reason_code") != "unscanned_endpoint" or verdicts:
        top = rec["verdict"]
        rec["reason_code"] = "all_policies_passed" if top == "allow" else next(
            v.reason_code for v in verdicts if v.verdict == top)
    parser = turn.parser
    comp = turn.exchange.completion or (parser.completion if parser else None)
    if parser is not None and turn.exchange.completion is None:
        turn.exchange.completion = comp
    if comp is not None:
        rec["output"] = {
            "text": comp.text,
            "tool_calls": [{"kind": i.kind, "name": i.name, "call_id": i.call_id, "arguments": i.original}
                           for i in comp.items if i.is_tool_call],
            "finish_reason": comp.finish_reason, "status": comp.status,
        }
        if comp.usage:
            rec["usage"] = comp.usage.__dict__.copy()
    rec["quality"] = next((v.score for v in verdicts if v.policy == "quality-scorer" and v.score is not None), None)
    if rec.get("status") is None:
        if status is not None:
            rec["status"] = status
        elif parser is not None:
            rec["status"] = 409 if parser.blocked else 200
    if turn.response_body is not None:
        rec["response_body"] = turn.response_body
    if turn.stream is not None:
        rec["bytes_out"] = turn.stream.bytes_out
    elif bytes_out is not None:
        rec["bytes_out"] = bytes_out
    rec["session_id"] = turn.exchange.session_id
    if turn.exchange.meta.get("unscanned"):
        rec["unscanned"] = turn.exchange.meta["unscanned"]
    rec["durations"] = {
        "total_ms": round((now - turn.started) * 1000, 3),
        "policy_ms": round(sum(v.duration_ms for v in verdicts), 3),
        "upstream_ms": round((now - turn.forwarded_at) * 1000, 3) if turn.forwarded_at else None,
        "ttfb_ms": round((turn.first_byte_at - turn.forwarded_at) * 1000, 3)
        if turn.first_byte_at and turn.forwarded_at else None,
    }
    return rec
