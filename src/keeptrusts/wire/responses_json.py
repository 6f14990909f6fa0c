"""Non-streamed model answers (JSON bodies of chat completions and responses)."""
from __future__ import annotations

from ..exchange import Completion, OutputItem
from .chat_stream import usage_from_chat
from .judge import OutputJudge
from .responses_stream import output_item_from_json, patch_item_json, usage_from_responses


def _chat_items(body: dict, comp: Completion):
    """(OutputItem, write-back) for every message text and tool call of a chat completion."""
    for ch in body.get("choices") or []:
        if not isinstance(ch, dict):
            continue
        comp.finish_reason = comp.finish_reason or ch.get("finish_reason")
        msg = ch.get("message") or {}
        if isinstance(msg.get("refusal"), str) and msg["refusal"] and not msg.get("content"):
            comp.items.append(OutputItem("refusal", msg["refusal"], index=ch.get("index", 0)))
        if isinstance(msg.get("content"), str):
            yield OutputItem("message", msg["content"], index=ch.get("index", 0)), \
                lambda oi, msg=msg: msg.__setitem__("content", oi.text)
        for tc in msg.get("tool_calls") or []:
            fn = tc.get("function") or {}
            yield OutputItem("function_call", fn.get("arguments") or "", fn.get("name"), tc.get("id")), \
                lambda oi, fn=fn: fn.__setitem__("arguments", oi.text)


def _responses_items(body: dict, comp: Completion):
    for n, item in enumerate(body.get("output") or []):
        oi = output_item_from_json(item, n) if isinstance(item, dict) else None
        if oi is not None:
            yield oi, lambda oi, item=item: patch_item_json(item, oi)


def judge_response_body(api: str, body: dict, judge: OutputJudge) -> tuple[bool, str | None, Completion]:
    """Judge every output item in place. Returns (body changed, block message, completion)."""
    comp = Completion()
    if api == "responses":
        comp.usage = usage_from_responses(body.get("usage"))
        comp.status = body.get("status")
        comp.finish_reason = (body.get("incomplete_details") or {}).get("reason")
        items = _responses_items(body, comp)
    elif api == "chat":
        comp.usage = usage_from_chat(body.get("usage"))
        items = _chat_items(body, comp)
    else:
        return False, None, comp
    changed = False
    for oi, write_back in items:
        comp.items.append(oi)
        message = judge.item(oi)
        if message:
            return changed, message, comp
        if oi.changed:
            write_back(oi)
            changed = True
    if comp.finish_reason is None:
        comp.finish_reason = "tool_calls" if any(i.is_tool_call for i in comp.items) else "stop"
    return changed, judge.done(comp), comp
