"""A Codex-shaped coding session built from real source files on this machine (the Python stdlib).

Turn 1 is ~30 KB (instructions, tool definitions, environment context, the user's task); every
later turn adds what Codex adds: the model's `exec_command` call and its output (a slice of a real
source file, ~12 KB), so over SSE with full history the request grows to ~500 KB by turn 40.
Over the WebSocket the same turns are sent incrementally (previous_response_id + the new items).

`salt` makes each session's text unique, so a repeated benchmark run does not hit the scan cache
of an earlier session (inside one session the history is re-sent and cached, as with real Codex).
"""
from __future__ import annotations

import json
import sysconfig
from pathlib import Path

TOOL_OUTPUT_CHARS = 11_800
INSTRUCTIONS_CHARS = 24_000


def stdlib_sources(limit: int = 400) -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.stat().st_size > TOOL_OUTPUT_CHARS)
    return files[:limit]


def _instructions() -> str:
    # Codex's base instructions are ~14 KB of prose; the stdlib's module docs are prose too.
    docs = []
    for p in stdlib_sources():
        text = p.read_text(errors="replace")
        if text.startswith('"""'):
            end = text.find('"""', 3)
            if end > 0:
                docs.append(text[3:end])
        if sum(map(len, docs)) > INSTRUCTIONS_CHARS:
            break
    return ("You are Codex, a coding agent running in the user's terminal.\n\n" + "\n".join(docs))[:INSTRUCTIONS_CHARS]


TOOLS = [
    {"type": "function", "name": "exec_command", "description": "Runs a command in a PTY, returning output.",
     "strict": False, "parameters": {"type": "object", "properties": {
         "cmd": {"type": "string", "description": "Shell command to execute."},
         "workdir": {"type": "string"}, "yield_time_ms": {"type": "number"},
         "max_output_tokens": {"type": "number"}}, "required": ["cmd"], "additionalProperties": False}},
    {"type": "custom", "name": "apply_patch", "description": "Use the `apply_patch` tool to edit files.",
     "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch hunk+ end_patch\n" * 40}},
    {"type": "function", "name": "update_plan", "description": "Updates the task plan.",
     "parameters": {"type": "object", "properties": {"plan": {"type": "array", "items": {"type": "object"}}}}},
]


class Session:
    """Turn n's request body: `sse_body(n)` (full history) or `ws_message(n, previous_id)` (new items)."""

    def __init__(self, salt: str = "s0", turns: int = 40, offset: int = 0):
        self.salt = salt
        files = stdlib_sources()
        self.instructions = _instructions()
        self.prefix: list[dict] = [
            {"type": "additional_tools", "tools": TOOLS},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text":
                "<permissions instructions>Filesystem sandboxing: workspace-write. Approval policy: on-request."
                "</permissions instructions>\n" * 20}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text":
                f"<environment_context><cwd>/home/dev/project-{salt}</cwd><shell>bash</shell></environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text":
                f"[{salt}] Read the modules we vendor and explain how their error handling works, then fix the "
                "bug where a failed read leaves a half-written cache file."}]},
        ]
        # New items per turn: the model's call plus the command's output (a slice of a real file).
        self.new_items: list[list[dict]] = [[]]
        for n in range(1, turns):
            path = files[(offset + n) % len(files)]
            text = path.read_text(errors="replace")[:TOOL_OUTPUT_CHARS]
            call_id = f"call_{salt}_{n:03d}"
            self.new_items.append([
                {"type": "message", "role": "assistant", "content": [{"type": "output_text",
                                                                       "text": f"Reading {path.name} next."}]},
                {"type": "function_call", "name": "exec_command", "call_id": call_id,
                 "arguments": json.dumps({"cmd": f"sed -n 1,400p {path}", "workdir": f"/home/dev/project-{salt}"})},
                {"type": "function_call_output", "call_id": call_id,
                 "output": f"Chunk ID: {salt}-{n}\nWall time: 0.01 seconds\nProcess exited with code 0\nOutput:\n{text}"},
            ])
        self.turns = turns

    def _request(self, input_items: list[dict]) -> dict:
        return {"model": "gpt-5.5", "instructions": self.instructions, "input": input_items, "tools": [],
                "tool_choice": "auto", "parallel_tool_calls": False, "reasoning": {"effort": "medium"},
                "store": False, "stream": True, "include": [], "prompt_cache_key": f"bench-{self.salt}"}

    def history(self, n: int) -> list[dict]:
        items = list(self.prefix)
        for k in range(1, n + 1):
            items += self.new_items[k]
        return items

    def sse_body(self, n: int) -> bytes:
        """Turn n (0-based) over POST /v1/responses: the whole history so far."""
        return json.dumps(self._request(self.history(n)), separators=(",", ":")).encode()

    def ws_message(self, n: int, previous_id: str | None) -> str:
        """Turn n over the WebSocket: the first carries the context, later ones only their new items."""
        if n == 0 or previous_id is None:
            req = self._request(self.history(n))
        else:
            req = self._request(self.new_items[n])
            req["previous_response_id"] = previous_id
        req.pop("stream", None)
        return json.dumps({"type": "response.create", **req}, separators=(",", ":"))


if __name__ == "__main__":
    s = Session()
    for n in (0, 1, 10, 20, 39):
        print(f"turn {n + 1:2d}: SSE {len(s.sse_body(n)) / 1024:6.1f} KB   WS {len(s.ws_message(n, 'resp_x')) / 1024:6.1f} KB")
