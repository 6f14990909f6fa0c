"""Request bodies of the OpenAI API -> Segments (every text the model will read), and back.

Covers chat completions (`messages`), responses (`instructions`, `input` items of every type
Codex sends), embeddings and legacy completions. A WebSocket `response.create` message carries
a Responses request at its top level (or under "response"), so it parses the same way.
"""
from __future__ import annotations

from typing import Any

from ..exchange import ASSISTANT, REASONING, SYSTEM, TOOL_CALL_ARGS, TOOL_OUTPUT, USER, Segment
from .jsonpath import get_path, set_path
from .walk import Unreadable, encode_back, uncovered

ROLE_KIND = {"system": SYSTEM, "developer": SYSTEM, "user": USER, "assistant": ASSISTANT,
             "tool": TOOL_OUTPUT, "function": TOOL_OUTPUT}


def detect_api(path: str) -> str:
    p = path.split("?", 1)[0].rstrip("/")
    if p.endswith("/chat/completions"):
        return "chat"
    if p.endswith("/responses"):
        return "responses"
    if p.endswith("/embeddings"):
        return "embeddings"
    if p.endswith("/completions"):
        return "completions"
    return "unknown"


class RequestShapeError(ValueError):
    """The body is JSON but not the shape of the endpoint (e.g. `messages` is not a list)."""


def _content_segments(content: Any, base: tuple, kind: str, role: str, out: list[Segment], **kw) -> None:
    if isinstance(content, str):
        out.append(Segment(base, kind, content, role, **kw))
    elif isinstance(content, list):
        for k, part in enumerate(content):
            if isinstance(part, str):
                out.append(Segment(base + (k,), kind, part, role, **kw))
            elif isinstance(part, dict):
                for key in ("text", "refusal", "stdout", "stderr"):
                    if isinstance(part.get(key), str):
                        out.append(Segment(base + (k, key), kind, part[key], role, **kw))
    elif content is not None and not isinstance(content, (dict, int, float, bool)):
        raise RequestShapeError(f"unexpected content at {base}")


def _chat_segments(body: dict, out: list[Segment], tools: list[str]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise RequestShapeError("`messages` must be a list of message objects")
    call_names: dict[str, str] = {}
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise RequestShapeError(f"messages[{i}] must be an object")
        role = m.get("role") or ""
        kind = ROLE_KIND.get(role, USER)
        tool_name = None
        if kind == TOOL_OUTPUT:
            tool_name = call_names.get(m.get("tool_call_id") or "") or m.get("name")
        _content_segments(m.get("content"), ("messages", i, "content"), kind, role, out,
                          tool_name=tool_name, call_id=m.get("tool_call_id"))
        for j, tc in enumerate(m.get("tool_calls") or []):
            fn = (tc or {}).get("function") or {}
            if isinstance(fn.get("arguments"), str):
                call_names[tc.get("id") or ""] = fn.get("name") or ""
                out.append(Segment(("messages", i, "tool_calls", j, "function", "arguments"), TOOL_CALL_ARGS,
                                   fn["arguments"], role, tool_name=fn.get("name"), call_id=tc.get("id")))
        fc = m.get("function_call")
        if isinstance(fc, dict) and isinstance(fc.get("arguments"), str):
            out.append(Segment(("messages", i, "function_call", "arguments"), TOOL_CALL_ARGS, fc["arguments"], role,
                               tool_name=fc.get("name")))
    for t in body.get("tools") or []:
        if isinstance(t, dict):
            name = (t.get("function") or {}).get("name") or t.get("name")
            if name:
                tools.append(name)


def _tool_names(defs: Any, tools: list[str]) -> None:
    for t in defs or []:
        if isinstance(t, dict):
            name = t.get("name") or (t.get("function") or {}).get("name") or t.get("type")
            if name:
                tools.append(name)


def _responses_segments(body: dict, base: tuple, out: list[Segment], tools: list[str], items_key: str = "input") -> None:
    if isinstance(body.get("instructions"), str):
        out.append(Segment(base + ("instructions",), SYSTEM, body["instructions"], "system"))
    inp = body.get(items_key)
    if isinstance(inp, str):
        out.append(Segment(base + ("input",), USER, inp, "user"))
    elif isinstance(inp, list):
        call_names: dict[str, str] = {}
        for i, item in enumerate(inp):
            if not isinstance(item, dict):
                raise RequestShapeError(f"input[{i}] must be an object")
            p = base + (items_key, i)
            t = item.get("type") or ("message" if "role" in item else "")
            if t == "message":
                role = item.get("role") or "user"
                _content_segments(item.get("content"), p + ("content",), ROLE_KIND.get(role, USER), role, out)
            elif t in ("function_call", "custom_tool_call"):
                key = "arguments" if t == "function_call" else "input"
                call_names[item.get("call_id") or ""] = item.get("name") or ""
                if isinstance(item.get(key), str):
                    out.append(Segment(p + (key,), TOOL_CALL_ARGS, item[key], "assistant",
                                       tool_name=item.get("name"), call_id=item.get("call_id")))
            elif t in ("function_call_output", "custom_tool_call_output", "local_shell_call_output",
                       "mcp_call_output", "computer_call_output", "shell_call_output", "apply_patch_call_output"):
                name = call_names.get(item.get("call_id") or "")
                _content_segments(item.get("output"), p + ("output",), TOOL_OUTPUT, "tool", out,
                                  tool_name=name, call_id=item.get("call_id"))
            elif t == "local_shell_call":
                cmd = (item.get("action") or {}).get("command")
                call_names[item.get("call_id") or ""] = "local_shell"
                for j, arg in enumerate(cmd if isinstance(cmd, list) else []):
                    if isinstance(arg, str):
                        out.append(Segment(p + ("action", "command", j), TOOL_CALL_ARGS, arg, "assistant",
                                           tool_name="local_shell", call_id=item.get("call_id")))
            elif t == "reasoning":
                for key in ("summary", "content"):
                    for k, part in enumerate(item.get(key) or []):
                        if isinstance(part, dict) and isinstance(part.get("text"), str):
                            out.append(Segment(p + (key, k, "text"), REASONING, part["text"], "assistant"))
            elif t == "additional_tools":
                _tool_names(item.get("tools"), tools)
            elif t in ("mcp_call",):
                if isinstance(item.get("arguments"), str):
                    out.append(Segment(p + ("arguments",), TOOL_CALL_ARGS, item["arguments"], "assistant",
                                       tool_name=item.get("name")))
                if isinstance(item.get("output"), str):
                    out.append(Segment(p + ("output",), TOOL_OUTPUT, item["output"], "tool", tool_name=item.get("name")))
    elif inp is not None:
        raise RequestShapeError(f"`{items_key}` must be a string or a list of items")
    _tool_names(body.get("tools"), tools)


def extract(api: str, body: Any) -> tuple[list[Segment], list[str]]:
    """Segments and offered tool names of a parsed request body."""
    if not isinstance(body, dict):
        raise RequestShapeError("the request body must be a JSON object")
    out: list[Segment] = []
    tools: list[str] = []
    if api == "chat":
        _chat_segments(body, out, tools)
    elif api == "responses":
        base: tuple = ("response",) if isinstance(body.get("response"), dict) and "input" not in body else ()
        _responses_segments(body["response"] if base else body, base, out, tools)
    elif api == "conversations":
        _responses_segments(body, (), out, tools, items_key="items")
    elif api in ("embeddings", "completions"):
        key = "input" if api == "embeddings" else "prompt"
        val = body.get(key)
        if isinstance(val, str):
            out.append(Segment((key,), USER, val, "user"))
        elif isinstance(val, list):
            for i, v in enumerate(val):
                if isinstance(v, str):
                    out.append(Segment((key, i), USER, v, "user"))
    return out, tools


def request_field(body: Any, name: str) -> Any:
    if not isinstance(body, dict):
        return None
    if name in body:
        return body[name]
    inner = body.get("response")
    return inner.get(name) if isinstance(inner, dict) else None


def extract_all(api: str, body: Any) -> tuple[list[Segment], list[str], list[Unreadable]]:
    """Typed segments, then every other string of the body (the closed-world floor), offered tool
    names, and the embedded payloads the chain cannot read."""
    segments, tools = extract(api, body)
    rest, unreadable = uncovered(body, {s.path for s in segments})
    return segments + rest, tools, unreadable


def apply(body: Any, segments: list[Segment]) -> bool:
    """Write edited segment texts back into the body; True when anything changed."""
    changed = False
    renames = []
    for s in segments:
        if not s.changed:
            continue
        changed = True
        last = s.path[-1] if s.path else None
        if isinstance(last, tuple) and last[:1] == ("<key>",):
            renames.append((s.path[:-1], last[1], s.text))  # after the values: their paths use the old key
        else:
            set_path(body, s.path, encode_back(s))
    for parent_path, old, new in renames:
        parent = get_path(body, parent_path)
        if isinstance(parent, dict) and old in parent:
            parent[new] = parent.pop(old)
    return changed
