"""Responses API server events (SSE and WebSocket carry the same JSON events).

Text deltas pass at once (placeholders restored). A tool-call item is held from its
`response.output_item.added` until its `response.output_item.done`, judged, then released
(with restored arguments) or replaced by a `response.failed` that the client shows; Codex runs a
tool call as soon as it sees the item done, so nothing of it may reach the client earlier.
"""
from __future__ import annotations

import json

from ..exchange import Completion, OutputItem, Usage
from .judge import OutputJudge
from .streamtext import DeltaRestorer

TOOL_ITEM_TYPES = ("function_call", "custom_tool_call", "local_shell_call")
TERMINAL_TYPES = ("response.completed", "response.incomplete", "response.failed", "response.done")
ARG_DELTA_TYPES = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")
ARG_DONE_FIELDS = {"response.function_call_arguments.done": "arguments", "response.custom_tool_call_input.done": "input"}

# An emitted event: (event dict, raw text or None). Raw is reused when the event is unchanged.
Emit = tuple[dict, "str | None"]


def usage_from_responses(u: dict | None) -> Usage | None:
    if not isinstance(u, dict):
        return None
    return Usage(
        input_tokens=int(u.get("input_tokens") or 0),
        cached_input_tokens=int((u.get("input_tokens_details") or {}).get("cached_tokens") or 0),
        output_tokens=int(u.get("output_tokens") or 0),
        reasoning_tokens=int((u.get("output_tokens_details") or {}).get("reasoning_tokens") or 0),
    )


def output_item_from_json(item: dict, index: int = 0) -> OutputItem | None:
    """A Responses output item -> OutputItem (None for kinds we do not judge)."""
    t = item.get("type")
    if t == "message":
        parts = [p for p in item.get("content") or [] if isinstance(p, dict)]
        text = "".join(p.get("text") or "" for p in parts)
        refusal = "".join(p.get("refusal") or "" for p in parts if p.get("type") == "refusal")
        if refusal and not text:
            return OutputItem("refusal", refusal, index=index)
        return OutputItem("message", text, index=index)
    if t == "function_call":
        return OutputItem(t, item.get("arguments") or "", item.get("name"), item.get("call_id"), index)
    if t == "custom_tool_call":
        return OutputItem(t, item.get("input") or "", item.get("name"), item.get("call_id"), index)
    if t == "local_shell_call":
        return OutputItem(t, json.dumps(item.get("action") or {}), "local_shell", item.get("call_id"), index)
    return None


def patch_item_json(item: dict, oi: OutputItem) -> None:
    """Write an edited OutputItem text back into the Responses item dict."""
    t = item.get("type")
    if t == "function_call":
        item["arguments"] = oi.text
    elif t == "custom_tool_call":
        item["input"] = oi.text
    elif t == "local_shell_call":
        try:
            item["action"] = json.loads(oi.text)
        except ValueError:
            pass
    elif t == "message":
        parts = [p for p in item.get("content") or [] if isinstance(p, dict) and "text" in p]
        if parts:
            parts[0]["text"] = oi.text
            for p in parts[1:]:
                p["text"] = ""


def failed_event(response: dict | None, message: str, seq: int | None, code: str = "invalid_prompt") -> dict:
    resp = dict(response or {})
    resp.setdefault("object", "response")
    resp["status"] = "failed"
    resp["error"] = {"code": code, "message": message}
    resp.pop("output", None)
    ev = {"type": "response.failed", "response": resp}
    if seq is not None:
        ev["sequence_number"] = seq
    return ev


class ResponsesStream:
    def __init__(self, judge: OutputJudge):
        self.judge = judge
        self.completion = Completion()
        self.response: dict | None = None       # from response.created, reused for response.failed
        self.finished = False                    # a terminal event went out
        self.blocked: str | None = None          # the block message, once blocked
        self._held: list[dict] = []
        self._held_index: int | None = None
        self._text = DeltaRestorer(judge.restore)
        self._seq = 0

    # -- helpers
    def _fail(self, message: str) -> list[Emit]:
        self.blocked = message
        self.finished = True
        self._held = []
        self._held_index = None
        self.completion.status = "failed"
        return [(failed_event(self.response, message, self._seq + 1), None)]

    def _judge_tool(self, events: list[dict]) -> list[Emit]:
        done = events[-1]
        item = done.get("item") or {}
        oi = output_item_from_json(item, done.get("output_index", 0))
        if oi is None:
            return [(e, None) for e in events]
        message = self.judge.item(oi)
        self.completion.items.append(oi)
        if message:
            return self._fail(message)
        if not oi.changed:
            return [(e, e.pop("__raw__", None)) for e in events]
        # Arguments changed (placeholders restored): one delta with the whole text, patched done events.
        out: list[Emit] = []
        delta_sent = False
        for e in events:
            e.pop("__raw__", None)
            t = e.get("type")
            if t in ARG_DELTA_TYPES:
                if delta_sent:
                    continue
                e["delta"] = oi.text
                delta_sent = True
            elif t in ARG_DONE_FIELDS:
                e[ARG_DONE_FIELDS[t]] = oi.text
            elif t == "response.output_item.done":
                patch_item_json(e["item"], oi)
            out.append((e, None))
        return out

    # -- main entry
    def feed(self, event: dict, raw: str | None = None) -> list[Emit]:
        if self.finished and self.blocked:
            return []  # after a block nothing more reaches the client
        if not isinstance(event, dict):
            return [(event, raw)]  # e.g. a stray chat-style `[DONE]`: it carries no model text
        t = event.get("type", "")
        if isinstance(event.get("sequence_number"), int):
            self._seq = event["sequence_number"]
        if self._held_index is not None:
            event["__raw__"] = raw
            self._held.append(event)
            if t == "response.output_item.done" and event.get("output_index") == self._held_index:
                held, self._held, self._held_index = self._held, [], None
                return self._judge_tool(held)
            if t in TERMINAL_TYPES:  # upstream ended without closing the item: judge what we have
                return self._fail("Blocked by keeptrusts: the model's tool call ended incomplete")
            return []
        if t in ("response.created", "response.in_progress") and isinstance(event.get("response"), dict):
            self.response = {k: v for k, v in event["response"].items() if k not in ("output",)}
            return [(event, raw)]
        if t == "response.output_item.added" and (event.get("item") or {}).get("type") in TOOL_ITEM_TYPES:
            event["__raw__"] = raw
            self._held = [event]
            self._held_index = event.get("output_index")
            return []
        if t == "response.output_text.delta":
            key = (event.get("output_index"), event.get("content_index"))
            new = self._text.feed(key, event.get("delta") or "")
            if new != event.get("delta"):
                event["delta"] = new
                return [(event, None)] if new else []
            return [(event, raw)]
        if t == "response.output_text.done":
            key = (event.get("output_index"), event.get("content_index"))
            out: list[Emit] = []
            tail = self._text.flush(key)
            if tail:
                out.append(({"type": "response.output_text.delta", "output_index": event.get("output_index"),
                             "content_index": event.get("content_index"), "item_id": event.get("item_id"),
                             "delta": tail, "sequence_number": event.get("sequence_number")}, None))
            text = event.get("text")
            if isinstance(text, str) and "<" in text:
                restored = self.judge.restore(text)
                if restored != text:
                    event["text"] = restored
                    return out + [(event, None)]
            return out + [(event, raw)]
        if t == "response.output_item.done":
            item = event.get("item") or {}
            oi = output_item_from_json(item, event.get("output_index", 0))
            if oi is not None and oi.kind in ("message", "refusal"):
                message = self.judge.item(oi)
                self.completion.items.append(oi)
                if message:
                    return self._fail(message)
                if oi.changed:
                    patch_item_json(item, oi)
                    return [(event, None)]
            return [(event, raw)]
        if t in TERMINAL_TYPES:
            resp = event.get("response") or {}
            self.completion.usage = usage_from_responses(resp.get("usage"))
            self.completion.status = resp.get("status") or t.rsplit(".", 1)[-1]
            details = resp.get("incomplete_details") or {}
            self.completion.finish_reason = details.get("reason") or (
                "tool_calls" if any(i.is_tool_call for i in self.completion.items) else "stop")
            if not self.completion.items and isinstance(resp.get("output"), list):
                for n, it in enumerate(resp["output"]):
                    oi = output_item_from_json(it, n) if isinstance(it, dict) else None
                    if oi:
                        self.completion.items.append(oi)
            if t != "response.failed":
                message = self.judge.done(self.completion)
                if message:
                    return self._fail(message)
            self.finished = True
            return [(event, raw)]
        return [(event, raw)]

    def finish(self) -> list[Emit]:
        """The upstream ended: anything still held is not released unjudged."""
        if self._held_index is not None and not self.blocked:
            return self._fail("Blocked by keeptrusts: the stream ended inside a tool call")
        return []
