"""Turns a scripted Turn into the OpenAI wire shapes: Responses events/objects and chat chunks/objects.

Shapes follow the public API (as the openai SDK and Codex parse them): every Responses event has
`type` and `sequence_number`; `response.completed` carries usage with input_tokens_details.cached_tokens
and output_tokens_details.reasoning_tokens; chat chunks split tool-call arguments across chunks.
"""
from __future__ import annotations

import itertools
import json
import time
from typing import Iterator

from .script import CustomToolCall, Failed, FunctionCall, Refusal, Text, Turn

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):024x}"


def _pieces(s: str, n: int) -> list[str]:
    return [s[i:i + n] for i in range(0, len(s), max(n, 1))] or [""]


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def turn_output_text(turn: Turn) -> str:
    parts = []
    for it in turn.items:
        if isinstance(it, (Text, Refusal)):
            parts.append(it.text)
        elif isinstance(it, FunctionCall):
            parts.append(it.name + it.arguments_text)
        elif isinstance(it, CustomToolCall):
            parts.append(it.name + it.input)
    return "".join(parts)


def usage_counts(turn: Turn, request_chars: int) -> dict:
    inp = turn.input_tokens if turn.input_tokens is not None else max(1, request_chars // 4)
    out = turn.output_tokens if turn.output_tokens is not None else estimate_tokens(turn_output_text(turn)) + turn.reasoning_tokens
    return {"input": inp, "cached": min(turn.cached_tokens or 0, inp), "output": out, "reasoning": turn.reasoning_tokens}


# ---------------------------------------------------------------- Responses API

def responses_usage(u: dict) -> dict:
    return {
        "input_tokens": u["input"],
        "input_tokens_details": {"cached_tokens": u["cached"]},
        "output_tokens": u["output"],
        "output_tokens_details": {"reasoning_tokens": u["reasoning"]},
        "total_tokens": u["input"] + u["output"],
    }


def response_object(rid: str, request: dict, status: str, output: list, usage: dict | None,
                    created_at: int, error: dict | None = None, incomplete: dict | None = None) -> dict:
    return {
        "id": rid,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": request.get("model") or "gpt-5.5",
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "store": request.get("store", True),
        "temperature": 1.0,
        "text": request.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _item_events(idx: int, item) -> Iterator[dict]:
    """Events for one output item, from output_item.added to output_item.done."""
    if isinstance(item, (Text, Refusal)):
        mid = new_id("msg")
        yield {"type": "response.output_item.added", "output_index": idx,
               "item": {"id": mid, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}
        if isinstance(item, Refusal):
            part = {"type": "refusal", "refusal": ""}
            yield {"type": "response.content_part.added", "item_id": mid, "output_index": idx, "content_index": 0, "part": part}
            for p in _pieces(item.text, 8):
                yield {"type": "response.refusal.delta", "item_id": mid, "output_index": idx, "content_index": 0, "delta": p}
            yield {"type": "response.refusal.done", "item_id": mid, "output_index": idx, "content_index": 0, "refusal": item.text}
            done_part = {"type": "refusal", "refusal": item.text}
        else:
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            yield {"type": "response.content_part.added", "item_id": mid, "output_index": idx, "content_index": 0, "part": part}
            for p in _pieces(item.text, item.chunk):
                yield {"type": "response.output_text.delta", "item_id": mid, "output_index": idx, "content_index": 0,
                       "delta": p, "logprobs": []}
            yield {"type": "response.output_text.done", "item_id": mid, "output_index": idx, "content_index": 0,
                   "text": item.text, "logprobs": []}
            done_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": item.text}
        yield {"type": "response.content_part.done", "item_id": mid, "output_index": idx, "content_index": 0, "part": done_part}
        yield {"type": "response.output_item.done", "output_index": idx,
               "item": {"id": mid, "type": "message", "status": "completed", "role": "assistant", "content": [done_part]}}
    elif isinstance(item, FunctionCall):
        fid, call_id, args = new_id("fc"), item.call_id or new_id("call"), item.arguments_text
        base = {"id": fid, "type": "function_call", "call_id": call_id, "name": item.name}
        yield {"type": "response.output_item.added", "output_index": idx, "item": {**base, "status": "in_progress", "arguments": ""}}
        for p in _pieces(args, item.chunk):
            yield {"type": "response.function_call_arguments.delta", "item_id": fid, "output_index": idx, "delta": p}
        yield {"type": "response.function_call_arguments.done", "item_id": fid, "output_index": idx, "name": item.name, "arguments": args}
        yield {"type": "response.output_item.done", "output_index": idx, "item": {**base, "status": "completed", "arguments": args}}
    elif isinstance(item, CustomToolCall):
        cid, call_id = new_id("ctc"), item.call_id or new_id("call")
        base = {"id": cid, "type": "custom_tool_call", "call_id": call_id, "name": item.name}
        yield {"type": "response.output_item.added", "output_index": idx, "item": {**base, "status": "in_progress", "input": ""}}
        for p in _pieces(item.input, item.chunk):
            yield {"type": "response.custom_tool_call_input.delta", "item_id": cid, "output_index": idx, "delta": p}
        yield {"type": "response.custom_tool_call_input.done", "item_id": cid, "output_index": idx, "input": item.input}
        yield {"type": "response.output_item.done", "output_index": idx, "item": {**base, "status": "completed", "input": item.input}}
    else:
        raise TypeError(f"unknown script item {item!r}")


def responses_events(turn: Turn, request: dict, request_chars: int, generate: bool = True) -> list[dict]:
    """The full event sequence of one streamed response (also used for WebSocket frames)."""
    rid, created = new_id("resp"), int(time.time())
    events = [{"type": "response.created", "response": response_object(rid, request, "in_progress", [], None, created)},
              {"type": "response.in_progress", "response": response_object(rid, request, "in_progress", [], None, created)}]
    output = []
    if generate:
        for idx, item in enumerate(turn.items):
            for ev in _item_events(idx, item):
                events.append(ev)
                if ev["type"] == "response.output_item.done":
                    output.append(ev["item"])
    u = usage_counts(turn, request_chars) if generate else {"input": max(1, request_chars // 4), "cached": 0, "output": 0, "reasoning": 0}
    if generate and turn.stop == "length":
        final = response_object(rid, request, "incomplete", output, responses_usage(u), created,
                                incomplete={"reason": "max_output_tokens"})
        events.append({"type": "response.incomplete", "response": final})
    else:
        final = response_object(rid, request, "completed", output, responses_usage(u), created)
        events.append({"type": "response.completed", "response": final})
    if turn.framing is not None and turn.framing.calls != "standard":
        events = apply_framing(events, turn.framing.calls)
    for n, ev in enumerate(events):
        ev["sequence_number"] = n
    return events


def apply_framing(events: list[dict], calls: str) -> list[dict]:
    """Re-frame the tool calls of a finished event list (see script.Framing)."""
    call_idx = {e["output_index"] for e in events if e["type"] == "response.output_item.added"
                and e["item"]["type"] not in ("message", "reasoning")}
    head = [e for e in events if "output_index" not in e and e["type"] not in ("response.completed", "response.incomplete")]
    tail = [e for e in events if e["type"] in ("response.completed", "response.incomplete")]
    per_item: dict[int, list] = {}
    for e in events:
        if "output_index" in e:
            per_item.setdefault(e["output_index"], []).append(e)
    for idx in call_idx:
        evs = per_item[idx]
        done = evs[-1]
        if calls == "done_only":
            per_item[idx] = [done]
        elif calls == "added_as_message":
            added = {"type": "response.output_item.added", "output_index": idx,
                     "item": {"id": done["item"]["id"], "type": "message", "status": "in_progress", "role": "assistant",
                              "content": []}}
            per_item[idx] = [added, done]
    body: list = []
    if calls == "interleaved":
        others = [i for i in sorted(per_item) if i not in call_idx]
        for i in others:
            body += per_item[i]
        lanes = [list(per_item[i]) for i in sorted(call_idx)]
        while any(lanes):
            for lane in lanes:
                if lane:
                    body.append(lane.pop(0))
    else:
        for i in sorted(per_item):
            body += per_item[i]
    return head + body + tail


def responses_failed_events(failed: Failed, request: dict) -> list[dict]:
    rid, created = new_id("resp"), int(time.time())
    events = [{"type": "response.created", "response": response_object(rid, request, "in_progress", [], None, created)},
              {"type": "response.in_progress", "response": response_object(rid, request, "in_progress", [], None, created)}]
    events = events[:max(1, failed.after)]
    err = {"code": failed.code, "message": failed.message}
    events.append({"type": "response.failed", "response": response_object(rid, request, "failed", [], None, created, error=err)})
    for n, ev in enumerate(events):
        ev["sequence_number"] = n
    return events


def final_response(events: list[dict]) -> dict:
    return events[-1]["response"]


# ---------------------------------------------------------------- Chat Completions API

def _chat_usage(u: dict) -> dict:
    return {"prompt_tokens": u["input"], "completion_tokens": u["output"], "total_tokens": u["input"] + u["output"],
            "prompt_tokens_details": {"cached_tokens": u["cached"], "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": u["reasoning"], "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _chat_tool_call(item, call_id: str) -> dict:
    if isinstance(item, CustomToolCall):
        return {"id": call_id, "type": "custom", "custom": {"name": item.name, "input": item.input}}
    return {"id": call_id, "type": "function", "function": {"name": item.name, "arguments": item.arguments_text}}


def _finish_reason(turn: Turn) -> str:
    if turn.stop == "length":
        return "length"
    if any(isinstance(i, (FunctionCall, CustomToolCall)) for i in turn.items):
        return "tool_calls"
    return "stop"


def chat_completion(turn: Turn, request: dict, request_chars: int) -> dict:
    content = "".join(i.text for i in turn.items if isinstance(i, Text)) or None
    refusal = "".join(i.text for i in turn.items if isinstance(i, Refusal)) or None
    calls = [_chat_tool_call(i, i.call_id or new_id("call")) for i in turn.items if isinstance(i, (FunctionCall, CustomToolCall))]
    message = {"role": "assistant", "content": content, "refusal": refusal, "annotations": []}
    if calls:
        message["tool_calls"] = calls
    return {"id": new_id("chatcmpl"), "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model") or "gpt-4o", "system_fingerprint": "fp_fake",
            "service_tier": "default",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(turn)}],
            "usage": _chat_usage(usage_counts(turn, request_chars))}


def chat_chunks(turn: Turn, request: dict, request_chars: int) -> list[dict]:
    cid, created, model = new_id("chatcmpl"), int(time.time()), request.get("model") or "gpt-4o"
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict, finish=None) -> dict:
        c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
             "system_fingerprint": "fp_fake", "service_tier": "default",
             "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            c["usage"] = None
        return c

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    tool_index = 0
    for item in turn.items:
        if isinstance(item, Text):
            out += [chunk({"content": p}) for p in _pieces(item.text, item.chunk)]
        elif isinstance(item, Refusal):
            out += [chunk({"refusal": p}) for p in _pieces(item.text, 8)]
        else:
            call_id = item.call_id or new_id("call")
            if isinstance(item, CustomToolCall):
                first = {"index": tool_index, "id": call_id, "type": "custom", "custom": {"name": item.name, "input": ""}}
                rest = [{"index": tool_index, "custom": {"input": p}} for p in _pieces(item.input, item.chunk)]
            else:
                first = {"index": tool_index, "id": call_id, "type": "function", "function": {"name": item.name, "arguments": ""}}
                rest = [{"index": tool_index, "function": {"arguments": p}} for p in _pieces(item.arguments_text, item.chunk)]
            out.append(chunk({"tool_calls": [first]}))
            out += [chunk({"tool_calls": [r]}) for r in rest]
            tool_index += 1
    out.append(chunk({}, _finish_reason(turn)))
    if include_usage:
        last = chunk({})
        last["choices"] = []
        last["usage"] = _chat_usage(usage_counts(turn, request_chars))
        out.append(last)
    return out


def sse_event(ev: dict, named: bool = True) -> bytes:
    data = json.dumps(ev, separators=(",", ":"))
    head = f"event: {ev['type']}\n" if named else ""
    return f"{head}data: {data}\n\n".encode()


def error_body(status: int, message: str, type_: str, code) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}
