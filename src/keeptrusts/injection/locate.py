"""Names the source of a tool output for findings: the tool, and the file or URL its call read.

The call that produced a tool output is in the same request when the client resends history
(`function_call` / `custom_tool_call` with the same call_id). Its arguments hold the shell command;
the last path-like argument of a file reader (cat, sed -n, head, nl, ...) or the URL of curl/wget
names what was read.
"""
from __future__ import annotations

import json
import re
import shlex

from ..exchange import TOOL_CALL_ARGS, Exchange, Segment

_READERS = {"cat", "sed", "head", "tail", "nl", "less", "more", "bat", "batcat", "awk", "grep", "rg", "type",
            "get-content", "cut", "jq", "yq", "xxd", "od", "strings", "view", "open"}
_FETCHERS = {"curl", "wget", "http", "https", "xh", "lynx", "w3m", "gh", "fetch"}
_CMD_KEYS = ("cmd", "command", "script", "input", "code")
_URL = re.compile(r"https?://[^\s'\"<>`)]+")
_CALL_CMD = re.compile(r"""(?:cmd|command)\s*:\s*(?:\[\s*)?(["'`])((?:\\.|(?!\1).){1,500})\1""")


def _command_of(args: str) -> str | None:
    try:
        data = json.loads(args)
    except (ValueError, TypeError):
        data = None
    if isinstance(data, dict):
        for key in _CMD_KEYS:
            v = data.get(key)
            if isinstance(v, list) and v:
                return v[-1] if len(v) >= 3 and v[-2] in ("-lc", "-c") else " ".join(map(str, v))
            if isinstance(v, str) and v.strip():
                return v
        if isinstance(data.get("path"), str):
            return "cat " + data["path"]
        if isinstance(data.get("url"), str):
            return "curl " + data["url"]
        return None
    m = _CALL_CMD.search(args)  # custom tools (JavaScript calling tools.exec_command({cmd: "..."}))
    return m.group(2) if m else (args.strip() or None)


def target_of(command: str) -> str | None:
    """`file README.md`, `url https://...`, or None."""
    url = _URL.search(command)
    try:
        words = shlex.split(command, comments=False)
    except ValueError:
        words = command.split()
    for i, w in enumerate(words):
        base = w.rsplit("/", 1)[-1].lower()
        if base in _FETCHERS and url:
            return f"url {url.group(0)[:120]}"
        if base in _READERS:
            paths = [a for a in words[i + 1:] if not a.startswith("-") and ("." in a or "/" in a)
                     and not re.fullmatch(r"\d+,\d+p?|[\d,]+p", a) and a not in ("|", "&&", ";")]
            stop = next((j for j, a in enumerate(paths) if a in ("|", "&&", ";", "||")), len(paths))
            if paths[:stop]:
                return f"file {paths[:stop][-1][:160]}"
    if url:
        return f"url {url.group(0)[:120]}"
    return None


def describe(segment: Segment, exchange: Exchange | None) -> str:
    """e.g. `exec_command output, file README.md`; empty when there is nothing to add.

    The call is looked up among the request's segments (HTTP resends the whole history), then in
    `exchange.meta["call_args"][call_id]` (the arguments text), which a transport that sends only new
    items (WebSocket turns chained by previous_response_id) can fill from the earlier response.
    """
    parts = []
    if segment.tool_name:
        parts.append(f"{segment.tool_name} output")
    if segment.call_id and exchange is not None:
        args = None
        for s in exchange.segments:
            if s.kind == TOOL_CALL_ARGS and s.call_id == segment.call_id and s is not segment:
                if not parts and s.tool_name:
                    parts.append(f"{s.tool_name} output")
                args = s.text
                break
        if args is None:
            args = (exchange.meta.get("call_args") or {}).get(segment.call_id)
        cmd = _command_of(args) if isinstance(args, str) else None
        target = target_of(cmd) if cmd else None
        if target:
            parts.append(target)
    return ", ".join(parts)
