"""Non-streamed model answers (JSON bodies of chat completions and responses).

Every item that can act is judged: each Responses output item of an acting type (any `*_call`),
each tool call of every chat choice (`n>1`), and the legacy `message.function_call`. What cannot
be classified (an unknown item or tool-call type, a field of the wrong shape) is unjudged: the
judge's fail mode decides (block: the answer is refused).
"""
from __future__ import annotations

from ..exchange import Completion, OutputItem
from .chat_stream import usage_from_chat
from .judge import OutputJudge, unjudged
from .responses_stream import item_class, output_item_from_json, patch_item_json, usage_from_responses


class _Unjudged(Exception):
    pass


def _set(d: dict, key: str):
    return lambda oi: d.__setitem__(key, oi.text)


def _str_or_none(v, what: str) -> str | None:
    if v is not None and not isinstance(v, str):
        raise _Unjudged(what)
    return v


def _chat_items(body: dict, comp: Completion):
    """(OutputItem, write-back) for every message text and tool call of every choice."""
    choices = body.get("choices")
    if choices is None:
        return
    if not isinstance(choices, list):
        raise _Unjudged("choices that are not a list")
    for n, ch in enumerate(choices):
        if not isinstance(ch, dict):
            raise _Unjudged("a choice that is not an object")
        idx = ch.get("index", n)
        idx = idx if type(idx) is int else n
        comp.finish_reason = comp.finish_reason or ch.get("finish_reason")
        msg = ch.get("message")
        if msg is None:
            continue
        if not isinstance(msg, dict):
            raise _Unjudged("a choice message that is not an object")
        refusal = _str_or_none(msg.get("refusal"), "a refusal that is not a string")
        content = msg.get("content")
        if refusal and not content:
            comp.items.append(OutputItem("refusal", refusal, index=idx))
        if isinstance(content, str):
            yield OutputItem("message", content, index=idx), _set(msg, "content")
        elif content is not None and not isinstance(content, list):
            raise _Unjudged("message content that is neither text nor parts")
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield OutputItem("message", part["text"], index=idx), _set(part, "text")
        calls = msg.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            raise _Unjudged("tool_calls that are not a list")
        for tc in calls or []:
            if not isinstance(tc, dict):
                raise _Unjudged("a tool call that is not an object")
            typ = tc.get("type")
            if typ in (None, "function"):
                fn = tc.get("function")
                if not isinstance(fn, dict):
                    raise _Unjudged("a tool call without a function object")
                args = _str_or_none(fn.get("arguments"), "tool call arguments that are not a string") or ""
                yield OutputItem("function_call", args, fn.get("name"), tc.get("id"), idx), _set(fn, "arguments")
            elif typ == "custom":
                cu = tc.get("custom")
                if not isinstance(cu, dict):
                    raise _Unjudged("a custom tool call without a custom object")
                text = _str_or_none(cu.get("input"), "custom tool input that is not a string") or ""
                yield OutputItem("custom_tool_call", text, cu.get("name"), tc.get("id"), idx), _set(cu, "input")
            else:
                raise _Unjudged(f"a tool call of type {str(typ)[:40]!r}")
        fc = msg.get("function_call")  # the legacy single call: clients still run it
        if fc is not None:
            if not isinstance(fc, dict):
                raise _Unjudged("a function_call that is not an object")
            args = _str_or_none(fc.get("arguments"), "function_call arguments that are not a string") or ""
            yield OutputItem("function_call", args, fc.get("name"), None, idx), _set(fc, "arguments")


def _responses_items(body: dict, comp: Completion):
    output = body.get("output")
    if output is None:
        return
    if not isinstance(output, list):
        raise _Unjudged("an output that is not a list")
    for n, item in enumerate(output):
        if not isinstance(item, dict):
            raise _Unjudged("an output item that is not an object")
        cls = item_class(item.get("type"))
        if cls is None:
            raise _Unjudged(f"an output item of type {str(item.get('type'))[:80]!r}")
        oi = output_item_from_json(item, n)
        if oi is not None:
            yield oi, lambda oi, item=item: patch_item_json(item, oi)


def judge_response_body(api: str, body: dict, judge: OutputJudge) -> tuple[bool, str | None, Completion]:
    """Judge every output item in place. Returns (body changed, block message, completion)."""
    comp = Completion()
    if api == "responses":
        comp.usage = usage_from_responses(body.get("usage"))
        comp.status = body.get("status")
        comp.finish_reason = (body.get("incomplete_details") or {}).get("reason") \
            if isinstance(body.get("incomplete_details"), dict) else None
        items = _responses_items(body, comp)
    elif api == "chat":
        comp.usage = usage_from_chat(body.get("usage"))
        items = _chat_items(body, comp)
    else:
        return False, None, comp
    changed = False
    try:
        for oi, write_back in items:
            comp.items.append(oi)
            message = judge.item(oi)
            if message:
                return changed, message, comp
            if oi.changed:
                write_back(oi)
                changed = True
    except _Unjudged as exc:
        message = unjudged(judge, str(exc))
        if message:
            return changed, message, comp
        # fail-mode allow: what was judged so far keeps its edits; the rest passes as it came
    if comp.finish_reason is None:
        comp.finish_reason = "tool_calls" if any(i.is_tool_call for i in comp.items) else "stop"
    return changed, judge.done(comp), comp
