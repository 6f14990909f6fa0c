"""Responses API server events (SSE and WebSocket carry the same JSON events).

Closed world: an event passes only when the parser knows it carries nothing a client could act on,
or when the item it belongs to was judged. Text deltas pass at once (placeholders restored). A
tool call (any item that can act: function, custom, shell, patch, MCP, computer, code interpreter,
any `*_call`) is tracked by identity (output_index / item_id): every event that carries any part
of it (`output_item.added`, argument/input deltas and `.done`s, progress events, content parts) is
held from the first one, in order, until its `response.output_item.done`; the item is judged
then, and released (rewritten to exactly what was judged when the pieces disagree or a placeholder
was restored) or replaced by a `response.failed` that the client shows. The copy of the output
inside `response.completed` (and every other event carrying `response.output`) is judged the same
way: a call seen only there is judged there. Codex runs a call as soon as it sees the item done,
so nothing of it may reach the client earlier. An event type, item type or shape the parser cannot
classify is unjudged: the judge's fail mode decides (block: the turn ends with `response.failed`).
Nothing passes after a terminal event.
"""
from __future__ import annotations

import json
from collections import deque

from ..exchange import Completion, OutputItem, Usage
from .judge import OutputJudge, unjudged
from .streamtext import DeltaRestorer

TERMINAL_TYPES = ("response.completed", "response.incomplete", "response.failed", "response.done")

# Output item types by what they can do. Messages are judged as text; inert items carry nothing a
# client acts on; every acting type (and any other `*_call`) is judged as a tool call. Anything else
# is unjudged.
TEXT_ITEM_TYPES = frozenset({"message"})
INERT_ITEM_TYPES = frozenset({
    "reasoning", "compaction", "context_compaction", "compaction_trigger", "additional_tools", "mcp_list_tools",
    "mcp_approval_response", "function_call_output", "custom_tool_call_output", "computer_call_output",
    "local_shell_call_output", "shell_call_output", "apply_patch_call_output", "program_output", "tool_search_output"})
ACTING_ITEM_TYPES = frozenset({
    "function_call", "custom_tool_call", "local_shell_call", "shell_call", "apply_patch_call", "mcp_call",
    "computer_call", "code_interpreter_call", "web_search_call", "file_search_call", "image_generation_call",
    "tool_search_call", "program", "mcp_approval_request"})
TOOL_ITEM_TYPES = tuple(sorted(ACTING_ITEM_TYPES))  # kept for importers of the old name

# Events that carry no actionable content of their own. They pass at once, unless they belong (by
# output_index / item_id) to a call being held, then they wait with it.
INERT_EVENTS = frozenset({
    "response.created", "response.in_progress", "response.queued",
    "response.output_text.delta", "response.output_text.done", "response.output_text.annotation.added",
    "response.refusal.delta", "response.refusal.done", "response.content_part.added", "response.content_part.done",
    "response.reasoning_summary_part.added", "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
    "response.reasoning_text.delta", "response.reasoning_text.done",
    "response.audio.delta", "response.audio.done", "response.audio.transcript.delta", "response.audio.transcript.done",
    "response.output_audio.delta", "response.output_audio.done",
    "response.output_audio_transcript.delta", "response.output_audio_transcript.done",
    "response.compaction.compacting",
    "response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed", "response.mcp_list_tools.failed",
    "response.steer.accepted", "response.steer.pending", "response.steer.failed",
    "error"})
TEXT_DELTA, TEXT_DONE = "response.output_text.delta", "response.output_text.done"
# Call events whose `delta` / named field carries the call's own text, per item type: they must
# add up to what the item's done says, or they are not released.
CALL_TEXT = {  # item type -> (event prefix, field of the `.done` event and of the item)
    "function_call": ("response.function_call_arguments.", "arguments"),
    "custom_tool_call": ("response.custom_tool_call_input.", "input"),
    "mcp_call": ("response.mcp_call_arguments.", "arguments"),
    "code_interpreter_call": ("response.code_interpreter_call_code.", "code"),
}
# Progress events of a call: held and released with it, they carry none of its text.
CALL_PROGRESS_EVENTS = frozenset({
    "response.mcp_call.in_progress", "response.mcp_call.completed", "response.mcp_call.failed",
    "response.code_interpreter_call.in_progress", "response.code_interpreter_call.interpreting",
    "response.code_interpreter_call.completed",
    "response.web_search_call.in_progress", "response.web_search_call.searching", "response.web_search_call.completed",
    "response.file_search_call.in_progress", "response.file_search_call.searching",
    "response.file_search_call.completed",
    "response.image_generation_call.in_progress", "response.image_generation_call.generating",
    "response.image_generation_call.partial_image", "response.image_generation_call.completed",
    "response.shell_call_output_content.delta", "response.shell_call_output_content.done"})

# Kept for importers: the old names of the argument events.
ARG_DELTA_TYPES = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")
ARG_DONE_FIELDS = {"response.function_call_arguments.done": "arguments", "response.custom_tool_call_input.done": "input"}

# An emitted event: (event dict, raw text or None). Raw is reused when the event is unchanged.
Emit = tuple[dict, "str | None"]


def is_call_event(t: str) -> bool:
    """An event that belongs to a tool call (arguments, input, progress of a hosted call)."""
    return t.startswith("response.") and "_call" in t


def item_class(t) -> str | None:
    """"text", "inert", "call", or None for an item type nobody can say is harmless."""
    if not isinstance(t, str):
        return None
    if t in TEXT_ITEM_TYPES:
        return "text"
    if t in INERT_ITEM_TYPES:
        return "inert"
    if t in ACTING_ITEM_TYPES or t.endswith("_call"):
        return "call"
    return None


def usage_from_responses(u: dict | None) -> Usage | None:
    if not isinstance(u, dict):
        return None
    return Usage(
        input_tokens=int(u.get("input_tokens") or 0),
        cached_input_tokens=int((u.get("input_tokens_details") or {}).get("cached_tokens") or 0),
        output_tokens=int(u.get("output_tokens") or 0),
        reasoning_tokens=int((u.get("output_tokens_details") or {}).get("reasoning_tokens") or 0),
    )


class ActingItem(OutputItem):
    """A tool call of a type beyond the three `OutputItem.is_tool_call` knows (shell_call, mcp_call,
    apply_patch_call, ...): policies must see it as the tool call it is."""

    @property
    def is_tool_call(self) -> bool:
        return True


def _text(v) -> str:
    if isinstance(v, str):
        return v
    return "" if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)


def _patch_text(op: dict) -> str:
    """An apply_patch_call operation as the Codex patch text the agent-firewall reads."""
    kind, path, diff = op.get("type"), _text(op.get("path")), _text(op.get("diff"))
    head = {"create_file": "Add File", "delete_file": "Delete File"}.get(kind, "Update File")
    body = "" if kind == "delete_file" else (diff if diff.endswith("\n") or not diff else diff + "\n")
    return f"*** Begin Patch\n*** {head}: {path}\n{body}*** End Patch"


def output_item_from_json(item: dict, index: int = 0) -> OutputItem | None:
    """A Responses output item -> OutputItem (None for inert kinds and kinds we cannot classify)."""
    t = item.get("type")
    if t == "message":
        parts = [p for p in item.get("content") or [] if isinstance(p, dict)]
        text = "".join(p.get("text") or "" for p in parts if isinstance(p.get("text") or "", str))
        refusal = "".join(p.get("refusal") or "" for p in parts
                          if p.get("type") == "refusal" and isinstance(p.get("refusal") or "", str))
        if refusal and not text:
            return OutputItem("refusal", refusal, index=index)
        return OutputItem("message", text, index=index)
    if item_class(t) != "call":
        return None
    name, call_id = item.get("name"), item.get("call_id")
    name = name if isinstance(name, str) else None
    call_id = call_id if isinstance(call_id, str) else (item.get("id") if isinstance(item.get("id"), str) else None)
    if t == "function_call":
        return OutputItem(t, _text(item.get("arguments")), name, call_id, index)
    if t == "custom_tool_call":
        return OutputItem(t, _text(item.get("input")), name, call_id, index)
    if t == "local_shell_call":
        return OutputItem(t, json.dumps(item.get("action") or {}), "local_shell", call_id, index)
    action = item.get("action") if isinstance(item.get("action"), dict) else {}
    if t == "shell_call":
        cmds = action.get("commands")
        script = "\n".join(c for c in cmds if isinstance(c, str)) if isinstance(cmds, list) else _text(cmds)
        rest = {k: v for k, v in action.items() if k != "commands"}
        return ActingItem(t, json.dumps({"command": script, **rest}, ensure_ascii=False), "shell", call_id, index)
    if t == "apply_patch_call":
        op = item.get("operation") if isinstance(item.get("operation"), dict) else {}
        return ActingItem(t, _patch_text(op), "apply_patch", call_id, index)
    if t in ("mcp_call", "mcp_approval_request"):
        label = item.get("server_label")
        full = f"{label}.{name}" if isinstance(label, str) and name else name
        return ActingItem(t, _text(item.get("arguments")), full or t, call_id, index)
    if t in ("code_interpreter_call", "program"):
        return ActingItem(t, _text(item.get("code")), "code_interpreter" if t != "program" else "program", call_id, index)
    if t == "computer_call":
        return ActingItem(t, json.dumps(action, ensure_ascii=False, sort_keys=True), "computer", call_id, index)
    rest = {k: v for k, v in item.items() if k not in ("id", "type", "status", "call_id", "name")}
    return ActingItem(t, json.dumps(rest, ensure_ascii=False, sort_keys=True), name or t, call_id, index)


def patch_item_json(item: dict, oi: OutputItem) -> None:
    """Write an edited OutputItem text back into the Responses item dict."""
    t = item.get("type")
    if t in ("function_call", "mcp_call", "mcp_approval_request"):
        item["arguments"] = oi.text
    elif t == "custom_tool_call":
        item["input"] = oi.text
    elif t in ("code_interpreter_call", "program"):
        item["code"] = oi.text
    elif t == "local_shell_call":
        try:
            item["action"] = json.loads(oi.text)
        except ValueError:
            pass
    elif t == "shell_call":
        try:
            new = json.loads(oi.text)
            action = dict(item.get("action") or {})
            action.update({k: v for k, v in new.items() if k != "command"})
            action["commands"] = new["command"].split("\n")
            item["action"] = action
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
    elif t == "apply_patch_call":
        op = item.get("operation")
        lines = oi.text.split("\n")
        if isinstance(op, dict) and len(lines) >= 3 and "diff" in op:
            diff = "\n".join(lines[2:-1])
            op["diff"] = diff if op["diff"].endswith("\n") or not diff else diff.rstrip("\n")
    elif t == "message":
        parts = [p for p in item.get("content") or [] if isinstance(p, dict) and "text" in p]
        if parts:
            parts[0]["text"] = oi.text
            for p in parts[1:]:
                p["text"] = ""


def _signature(item: dict, oi: OutputItem) -> tuple:
    return (item.get("type"), oi.name, oi.call_id, oi.original)


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


SHELL_COMMAND = "response.shell_call_command."


class _ShellCommands:
    """shell_call_command.added/delta/done events must add up to the done item's commands."""

    def __init__(self, item: dict):
        action = item.get("action") if isinstance(item.get("action"), dict) else {}
        cmds = action.get("commands")
        self.cmds = cmds if isinstance(cmds, list) else []
        self.deltas: dict[int, list] = {}

    def add(self, et: str, e: dict) -> bool:
        ci = e.get("command_index")
        if type(ci) is not int or not 0 <= ci < len(self.cmds):
            return False
        want = self.cmds[ci]
        if et == SHELL_COMMAND + "delta":
            self.deltas.setdefault(ci, []).append(e.get("delta"))
            return isinstance(e.get("delta"), str)
        if et == SHELL_COMMAND + "added":
            return e.get("command") in ("", want)
        if et == SHELL_COMMAND + "done":
            return e.get("command") == want
        return False

    def complete(self) -> bool:
        return all("".join(d) == self.cmds[ci] for ci, d in self.deltas.items())


class _Item:
    """What the parser knows of one output item, by identity."""
    __slots__ = ("cls", "pending", "oi", "sig")

    def __init__(self, cls: str | None, pending: bool = False):
        self.cls = cls            # "text" / "inert" / "call"
        self.pending = pending    # a call whose events are held until its done is judged
        self.oi: OutputItem | None = None   # what was judged (calls and messages)
        self.sig: tuple | None = None


class _Conflict(Exception):
    pass


def _keys(event: dict) -> list[tuple]:
    keys = []
    oi = event.get("output_index")
    if type(oi) is int:
        keys.append(("i", oi))
    iid = event.get("item_id")
    if isinstance(iid, str):
        keys.append(("id", iid))
    item = event.get("item")
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        keys.append(("id", item["id"]))
    return keys


class ResponsesStream:
    def __init__(self, judge: OutputJudge):
        self.judge = judge
        self.completion = Completion()
        self.response: dict | None = None       # from response.created, reused for response.failed
        self.finished = False                    # a terminal event went out (or the turn was failed)
        self.blocked: str | None = None          # the block message, once blocked
        self._items: dict[tuple, _Item] = {}     # identity key -> item
        self._queue: deque = deque()             # (event, raw, owner _Item | None), in arrival order
        self._pending = 0                        # calls held, not judged yet
        self._judged: dict[tuple, OutputItem] = {}  # call signature -> the judged item (a repeat is not re-judged)
        self._text = DeltaRestorer(judge.restore)
        self._seq = 0

    # ------------------------------------------------------------------ public
    def fail(self, message: str) -> list[Emit]:
        """End the turn now with `response.failed` carrying `message`; nothing held is released and
        every later event is dropped. Returns [] when the turn already ended."""
        if self.finished:
            return []
        self.blocked = message
        self.finished = True
        self._queue.clear()
        self._pending = 0
        self.completion.status = "failed"
        return [(failed_event(self.response, message, self._seq + 1), None)]

    _fail = fail  # the old private name, until every caller uses fail()

    def feed(self, event: dict, raw: str | None = None) -> list[Emit]:
        if self.finished:
            return []  # after a terminal event (or a block) nothing more reaches the client
        if event == "[DONE]":
            return self._emit(event, raw, None)  # a stray chat-style end marker: no content
        if not isinstance(event, dict):
            return self._unjudged(f"an event that is a JSON {type(event).__name__}", event, raw)
        t = event.get("type")
        if not isinstance(t, str):
            return self._unjudged("an event without a type", event, raw)
        seq = event.get("sequence_number")
        if type(seq) is int:
            self._seq = seq
        try:
            if t in TERMINAL_TYPES:
                return self._terminal(event, raw)
            if t == "response.output_item.added":
                return self._added(event, raw)
            if t == "response.output_item.done":
                return self._done(event, raw)
            if event.get("item") is not None:
                # Only the two item events carry an item: one anywhere else is a smuggled copy.
                return self._unjudged(f"a {t[:80]} event carrying an output item", event, raw)
            resp = event.get("response")
            if isinstance(resp, dict) and resp.get("output") and t not in ("response.created", "response.in_progress",
                                                                            "response.queued"):
                return self._unjudged(f"a {t[:80]} event carrying response output", event, raw)
            if t in INERT_EVENTS:
                return self._inert(t, event, raw)
            if is_call_event(t):
                return self._call_event(event, raw)
        except _Conflict as exc:
            return self._unjudged(str(exc), event, raw)
        return self._unjudged(f"an event of type {t[:80]!r}", event, raw)

    def finish(self) -> list[Emit]:
        """The upstream ended: anything still held is not released unjudged."""
        if self._pending and not self.finished:
            return self.fail("Blocked by keeptrusts: the stream ended inside a tool call")
        return []

    # ------------------------------------------------------------------ emission
    def _emit(self, event, raw, owner: _Item | None) -> list[Emit]:
        if not self._queue and (owner is None or not owner.pending):
            return [(event, raw)]
        self._queue.append((event, raw, owner))
        return self._flush()

    def _flush(self) -> list[Emit]:
        out: list[Emit] = []
        q = self._queue
        while q and (q[0][2] is None or not q[0][2].pending):
            e, r, _ = q.popleft()
            out.append((e, r))
        return out

    def _unjudged(self, what: str, event, raw) -> list[Emit]:
        message = unjudged(self.judge, what)
        if message:
            return self.fail(message)
        return self._emit(event, raw, None)  # fail-mode allow: the judge recorded it, it passes

    # ------------------------------------------------------------------ identity
    def _owner(self, keys: list[tuple]) -> _Item | None:
        found = None
        for k in keys:
            st = self._items.get(k)
            if st is not None:
                if found is not None and st is not found:
                    raise _Conflict("an event whose output_index and item_id name two different items")
                found = st
        return found

    def _register(self, keys: list[tuple], st: _Item) -> None:
        for k in keys:
            old = self._items.get(k)
            if old is not None and old is not st and old.pending:
                raise _Conflict("a new output item in place of a tool call that was not finished")
            self._items[k] = st

    def _forget(self, st: _Item) -> None:
        """An identity is reused for a new item: every key of the old one goes."""
        for k in [k for k, v in self._items.items() if v is st]:
            del self._items[k]

    def _open_call(self, keys: list[tuple]) -> _Item:
        st = _Item("call", pending=True)
        self._register(keys, st)
        self._pending += 1
        return st

    # ------------------------------------------------------------------ events
    def _inert(self, t: str, event: dict, raw) -> list[Emit]:
        if t in ("response.created", "response.in_progress", "response.queued"):
            resp = event.get("response")
            if resp is not None and not isinstance(resp, dict):
                return self._unjudged(f"a {t} whose response is not an object", event, raw)
            if resp:
                self.response = {k: v for k, v in resp.items() if k != "output"}
                if resp.get("output"):
                    return self._with_output(event, raw, resp)
            return self._emit(event, raw, None)
        owner = self._owner(_keys(event))
        if owner is not None and not owner.pending:
            owner = None
        if t == TEXT_DELTA:
            key = (event.get("output_index"), event.get("content_index"))
            delta = event.get("delta")
            if not isinstance(delta, str):
                return self._unjudged("a text delta that is not a string", event, raw)
            new = self._text.feed(key, delta)
            if new != delta:
                event["delta"] = new
                return self._emit(event, None, owner) if new else self._emit_nothing(owner)
        elif t == TEXT_DONE:
            key = (event.get("output_index"), event.get("content_index"))
            out: list[Emit] = []
            tail = self._text.flush(key)
            if tail:
                out += self._emit({"type": TEXT_DELTA, "output_index": event.get("output_index"),
                                   "content_index": event.get("content_index"), "item_id": event.get("item_id"),
                                   "delta": tail, "sequence_number": event.get("sequence_number")}, None, owner)
            text = event.get("text")
            if isinstance(text, str) and "<" in text:
                restored = self.judge.restore(text)
                if restored != text:
                    event["text"] = restored
                    return out + self._emit(event, None, owner)
            return out + self._emit(event, raw, owner)
        return self._emit(event, raw, owner)

    def _emit_nothing(self, owner) -> list[Emit]:
        return self._flush() if self._queue else []

    def _call_event(self, event: dict, raw) -> list[Emit]:
        keys = _keys(event)
        owner = self._owner(keys)
        if owner is None or not owner.pending:
            if not keys:
                return self._unjudged("a tool-call event without an output_index or item_id", event, raw)
            if owner is not None:  # more of an item already finished: a new call, held until judged
                self._forget(owner)
            owner = self._open_call(keys)
        else:
            self._register(keys, owner)  # learn the item_id / output_index pair
        return self._emit(event, raw, owner)

    def _item_of(self, event: dict) -> tuple[dict | None, str | None, str | None]:
        """(item, its class, why it cannot be judged) of an output_item event."""
        item = event.get("item")
        if not isinstance(item, dict):
            return None, None, "an output item that is not an object"
        cls = item_class(item.get("type"))
        if cls is None:
            return item, None, f"an output item of type {str(item.get('type'))[:80]!r}"
        return item, cls, None

    def _added(self, event: dict, raw) -> list[Emit]:
        item, cls, why = self._item_of(event)
        if why:
            return self._unjudged(why, event, raw)
        keys = _keys(event)
        owner = self._owner(keys)
        if owner is not None and owner.pending:
            self._register(keys, owner)
            return self._emit(event, raw, owner)  # part of the call being held (whatever it says it is)
        if cls == "call":
            if owner is not None:
                self._forget(owner)
            return self._emit(event, raw, self._open_call(keys))
        self._register(keys, _Item(cls))
        return self._emit(event, raw, None)

    def _done(self, event: dict, raw) -> list[Emit]:
        item, cls, why = self._item_of(event)
        if why:
            return self._unjudged(why, event, raw)
        keys = _keys(event)
        owner = self._owner(keys)
        index = event.get("output_index") if type(event.get("output_index")) is int else 0
        if cls != "call":
            if owner is not None and owner.pending:
                return self._unjudged("a tool call whose item ended as a " + str(item.get("type")), event, raw)
            st = _Item(cls)
            self._register(keys, st)
            oi = output_item_from_json(item, index) if cls == "text" else None
            if oi is not None:
                message = self.judge.item(oi)
                self.completion.items.append(oi)
                st.oi = oi
                if message:
                    return self.fail(message)
                if oi.changed:
                    patch_item_json(item, oi)
                    return self._emit(event, None, None)
            return self._emit(event, raw, None)
        if owner is None or not owner.pending:
            if owner is not None:
                self._forget(owner)
            owner = self._open_call(keys)
        else:
            self._register(keys, owner)
        oi = output_item_from_json(item, index)
        message = self._judge_call(item, oi)
        if message:
            return self.fail(message)
        owner.pending = False
        owner.oi, owner.sig = oi, _signature(item, oi)
        self._pending -= 1
        self._release(owner, item, oi)
        if oi.changed:
            patch_item_json(item, oi)
            raw = None
        self._queue.append((event, raw, None))
        return self._flush()

    def _judge_call(self, item: dict, oi: OutputItem) -> str | None:
        """Judge one call; the same call seen again (a repeated done, the copy in response.completed)
        takes the first verdict's edits without being judged (and audited) twice."""
        sig = _signature(item, oi)
        seen = self._judged.get(sig)
        if seen is not None:
            oi.text = seen.text
            return None
        message = self.judge.item(oi)
        self.completion.items.append(oi)
        if message:
            return message
        self._judged[sig] = oi
        return None

    def _release(self, owner: _Item, done_item: dict, oi: OutputItem) -> None:
        """The call was allowed: make its held events say exactly what was judged. Unchanged and
        consistent events go out as they came; deltas and `.done`s that do not add up to the judged
        text (or whose text a placeholder restore changed) are rewritten or dropped."""
        t = done_item.get("type")
        prefix, field = CALL_TEXT.get(t, (None, None))
        judged_text = done_item.get(field) if field else None
        mine = [n for n, (_, _, o) in enumerate(self._queue) if o is owner]
        deltas, consistent = [], True
        shell = _ShellCommands(done_item) if t == "shell_call" else None
        for n in mine:
            e = self._queue[n][0]
            et = e.get("type")
            if shell is not None and et.startswith(SHELL_COMMAND):
                consistent = shell.add(et, e) and consistent
            elif et == "response.output_item.added":
                it = e.get("item")
                # Every field of the added item is empty or what the judged done says.
                if not isinstance(it, dict) or it.get("type") != t or any(
                        k != "status" and v not in ("", None, [], {}) and v != done_item.get(k) for k, v in it.items()):
                    consistent = False
            elif et in CALL_PROGRESS_EVENTS or et in INERT_EVENTS:
                continue
            elif prefix and et == prefix + "delta":
                deltas.append(e.get("delta"))
            elif prefix and et == prefix + "done":
                if e.get(field) != judged_text:
                    consistent = False
            else:
                consistent = False  # call text we cannot match to the judged item
        if deltas and (not all(isinstance(d, str) for d in deltas) or "".join(deltas) != judged_text):
            consistent = False
        if shell is not None and (not shell.complete() or oi.changed):
            consistent = False  # restored shell commands go out in the done only
        if consistent and not oi.changed:
            return
        new_q: deque = deque()
        delta_sent = False
        for e, r, o in self._queue:
            if o is owner:
                et = e.get("type")
                if not consistent:
                    if et == "response.output_item.added" or not (et in CALL_PROGRESS_EVENTS or et in INERT_EVENTS):
                        continue  # the done carries the whole judged call
                elif prefix and et == prefix + "delta":
                    if delta_sent:
                        continue
                    e["delta"], r, delta_sent = oi.text, None, True
                elif prefix and et == prefix + "done":
                    e[field], r = oi.text, None
                elif et == "response.output_item.added" and (e["item"].get(field) or ""):
                    e["item"][field], r = oi.text, None
            new_q.append((e, r, o))
        self._queue = new_q

    def _with_output(self, event: dict, raw, resp: dict) -> list[Emit]:
        """An event carrying `response.output` (the copy in response.completed, or output in a
        response.created): every call in it is judged, unless it is the same call already judged at
        its done (then it takes that verdict's edits)."""
        output = resp.get("output")
        if output is None:
            return self._emit(event, raw, None)
        if not isinstance(output, list):
            return self._unjudged("a response whose output is not a list", event, raw)
        changed = False
        for n, it in enumerate(output):
            if not isinstance(it, dict):
                return self._unjudged("an output item that is not an object", event, raw)
            cls = item_class(it.get("type"))
            if cls is None:
                return self._unjudged(f"an output item of type {str(it.get('type'))[:80]!r}", event, raw)
            if cls == "inert":
                continue
            keys = [("i", n)] + ([("id", it["id"])] if isinstance(it.get("id"), str) else [])
            known = [self._items.get(k) for k in keys]
            oi = output_item_from_json(it, n)
            if cls == "text":
                if any(st is not None and st.cls == "text" and st.oi is not None for st in known):
                    continue  # judged at its done
                message = self.judge.item(oi)
                self.completion.items.append(oi)
            else:
                message = self._judge_call(it, oi)
            if message:
                return self.fail(message)
            if oi.changed:
                patch_item_json(it, oi)
                changed = True
        return self._emit(event, None if changed else raw, None)

    def _terminal(self, event: dict, raw) -> list[Emit]:
        if self._pending:  # upstream ended without closing a call: it is not released
            return self.fail("Blocked by keeptrusts: the model's tool call ended incomplete")
        t = event["type"]
        resp = event.get("response")
        if resp is None:
            resp = {}
        if not isinstance(resp, dict):
            return self._unjudged(f"a {t} whose response is not an object", event, raw)
        out = self._with_output(event, raw, resp)
        if self.finished:
            return out  # blocked (or unjudged) in the output copy
        # _with_output emitted the terminal event already; judge the whole answer before it goes out.
        self.completion.usage = usage_from_responses(resp.get("usage"))
        status = resp.get("status")
        self.completion.status = status if isinstance(status, str) else t.rsplit(".", 1)[-1]
        details = resp.get("incomplete_details") if isinstance(resp.get("incomplete_details"), dict) else {}
        reason = details.get("reason")
        self.completion.finish_reason = reason if isinstance(reason, str) else (
            "tool_calls" if any(i.is_tool_call for i in self.completion.items) else "stop")
        if t != "response.failed":
            message = self.judge.done(self.completion)
            if message:
                return self.fail(message)
        self.finished = True
        return out
