"""Chat completions stream chunks (`data: {...}` ... `data: [DONE]`).

Content deltas pass at once (placeholders restored). Chunks carrying `tool_calls` deltas are
held until the choice finishes, the assembled calls are judged, then the held chunks are
released or replaced by an error chunk and the end of the stream.
"""
from __future__ import annotations

from ..exchange import Completion, OutputItem, Usage
from .judge import OutputJudge
from .streamtext import DeltaRestorer

Emit = tuple["dict | str", "str | None"]   # (chunk dict or "[DONE]", raw or None)


def usage_from_chat(u: dict | None) -> Usage | None:
    if not isinstance(u, dict):
        return None
    return Usage(
        input_tokens=int(u.get("prompt_tokens") or 0),
        cached_input_tokens=int((u.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
        output_tokens=int(u.get("completion_tokens") or 0),
        reasoning_tokens=int((u.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0),
    )


def error_chunk(message: str, policy: str | None = None) -> dict:
    err = {"message": message, "type": "policy_violation", "code": "output_blocked"}
    if policy:
        err["policy"] = policy
    return {"error": err}


class ChatStream:
    def __init__(self, judge: OutputJudge):
        self.judge = judge
        self.completion = Completion()
        self.finished = False
        self.blocked: str | None = None
        self._held: list[tuple[dict, str | None]] = []
        self._calls: dict[int, dict] = {}      # tool call index -> {id, name, arguments}
        self._text: dict[int, list[str]] = {}   # choice index -> content pieces
        self._restorer = DeltaRestorer(judge.restore)
        self._judged_text = False

    def _fail(self, message: str) -> list[Emit]:
        self.blocked = message
        self.finished = True
        self._held = []
        return [(error_chunk(message), None), ("[DONE]", None)]

    def _release_tools(self) -> list[Emit]:
        held, self._held = self._held, []
        items = []
        for idx in sorted(self._calls):
            c = self._calls[idx]
            oi = OutputItem("function_call", c["arguments"], c["name"], c["id"], idx)
            message = self.judge.item(oi)
            self.completion.items.append(oi)
            if message:
                return self._fail(message)
            items.append((idx, oi))
        changed = {idx: oi.text for idx, oi in items if oi.changed}
        if not changed:
            return held
        out: list[Emit] = []
        written: set[int] = set()
        for chunk, raw in held:
            touched = False
            for ch in chunk.get("choices") or []:
                for tc in (ch.get("delta") or {}).get("tool_calls") or []:
                    idx = tc.get("index", 0)
                    fn = tc.get("function") or {}
                    if idx in changed and "arguments" in fn:
                        fn["arguments"] = "" if idx in written else changed[idx]
                        written.add(idx)
                        touched = True
            out.append((chunk, None if touched else raw))
        return out

    def _judge_text(self) -> str | None:
        if self._judged_text:
            return None
        self._judged_text = True
        text = "".join(self._text.get(0, []))
        if not text:
            return None
        oi = OutputItem("message", text)
        self.completion.items.insert(0, oi)
        return self.judge.item(oi)

    def feed(self, chunk: "dict | str", raw: str | None = None) -> list[Emit]:
        if self.finished and self.blocked:
            return []
        if chunk == "[DONE]":
            out: list[Emit] = []
            if self._held:
                out += self._release_tools()
                if self.blocked:
                    return out
            message = self._judge_text() or self.judge.done(self.completion)
            if message:
                return out + self._fail(message)
            self.finished = True
            return out + [(chunk, raw)]
        if not isinstance(chunk, dict):
            return [(chunk, raw)]
        if chunk.get("usage"):
            self.completion.usage = usage_from_chat(chunk["usage"])
        finish = None
        has_tools = False
        content_changed = False
        for ch in chunk.get("choices") or []:
            delta = ch.get("delta") or {}
            idx = ch.get("index", 0)
            if isinstance(delta.get("content"), str):
                self._text.setdefault(idx, []).append(delta["content"])
                new = self._restorer.feed(idx, delta["content"])
                if new != delta["content"]:
                    delta["content"] = new
                    content_changed = True
            for tc in delta.get("tool_calls") or []:
                has_tools = True
                c = self._calls.setdefault(tc.get("index", 0), {"id": None, "name": None, "arguments": ""})
                c["id"] = tc.get("id") or c["id"]
                fn = tc.get("function") or {}
                c["name"] = fn.get("name") or c["name"]
                c["arguments"] += fn.get("arguments") or ""
            if ch.get("finish_reason"):
                finish = ch["finish_reason"]
                self.completion.finish_reason = finish
                tail = self._restorer.flush(idx)
                if tail:
                    delta["content"] = (delta.get("content") or "") + tail
                    content_changed = True
        emit_raw = None if content_changed else raw
        if has_tools or self._held:
            self._held.append((chunk, emit_raw))
            if finish:
                out = self._release_tools()
                if self.blocked:
                    return out
                message = self._judge_text()
                return self._fail(message) if message else out
            return []
        if finish:
            message = self._judge_text()
            if message:
                return self._fail(message)
        return [(chunk, emit_raw)]

    def finish(self) -> list[Emit]:
        if self._held and not self.blocked:
            return self._fail("Blocked by keeptrusts: the stream ended inside a tool call")
        return []
