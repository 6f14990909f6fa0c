"""Chat completions stream chunks (`data: {...}` ... `data: [DONE]`).

Content deltas pass at once (placeholders restored). Every tool call of every choice (`tool_calls`
fragments, with or without `index` / `id`, and the legacy `function_call`) is assembled per choice;
from its first fragment on, chunks are held in order until that choice finishes (or `[DONE]`), its
calls are judged, then the held chunks are released or replaced by an error chunk and the end of
the stream. When the fragments were ambiguous (no index, an id that changes, a name in pieces) or a
placeholder was restored, the choice's calls are released rewritten as one fragment each, so the
client assembles exactly what was judged. A chunk the parser cannot classify (an unknown delta
field with content, a tool call of an unknown type, more call fragments after the choice finished)
is unjudged: the judge's fail mode decides (block: error chunk and `[DONE]`). Nothing passes after
`[DONE]`.
"""
from __future__ import annotations

from collections import deque

from ..exchange import Completion, OutputItem, Usage
from .judge import OutputJudge, unjudged
from .streamtext import DeltaRestorer

Emit = tuple["dict | str", "str | None"]   # (chunk dict or "[DONE]", raw or None)

# Fields that carry nothing a client acts on (text is judged per choice at its end).
INERT_DELTA_FIELDS = frozenset({"role", "content", "refusal", "reasoning", "reasoning_content", "annotations", "audio"})
CALL_DELTA_FIELDS = frozenset({"tool_calls", "function_call"})
CHOICE_FIELDS = frozenset({"index", "delta", "finish_reason", "logprobs", "content_filter_results",
                           "content_filter_offsets", "native_finish_reason", "stop_reason", "matched_stop"})


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


class _Unjudged(Exception):
    pass


class _Slot:
    """One tool call of one choice, assembled from its fragments."""
    __slots__ = ("choice", "key", "kind", "id", "name", "args", "pending", "ambiguous", "tool_index", "oi")

    def __init__(self, choice: int, key, tool_index: int):
        self.choice, self.key, self.tool_index = choice, key, tool_index
        self.kind: str | None = None
        self.id: str | None = None
        self.name: str | None = None
        self.args: list[str] = []
        self.pending = True
        self.ambiguous = False
        self.oi: OutputItem | None = None


class ChatStream:
    def __init__(self, judge: OutputJudge):
        self.judge = judge
        self.completion = Completion()
        self.finished = False
        self.blocked: str | None = None
        self._slots: dict[tuple, _Slot] = {}       # (choice, key) -> slot; key ("i", n) / ("id", s) / "fc"
        self._order: dict[int, list[_Slot]] = {}   # choice -> its slots in arrival order
        self._queue: deque = deque()               # (chunk, raw, owners: set of slots)
        self._text: dict[int, list[str]] = {}      # choice index -> content pieces
        self._choices_done: set[int] = set()
        self._texts_judged: set[int] = set()
        self._restorer = DeltaRestorer(judge.restore)

    # ------------------------------------------------------------------ public
    def fail(self, message: str) -> list[Emit]:
        """End the stream now with an error chunk and `[DONE]`; nothing held is released and every
        later chunk is dropped. Returns [] when the stream already ended."""
        if self.finished:
            return []
        self.blocked = message
        self.finished = True
        self._queue.clear()
        return [(error_chunk(message), None), ("[DONE]", None)]

    _fail = fail  # the old private name, until every caller uses fail()

    def feed(self, chunk: "dict | str", raw: str | None = None) -> list[Emit]:
        if self.finished:
            return []
        if chunk == "[DONE]":
            return self._done(raw)
        if not isinstance(chunk, dict):
            return self._unjudged(f"a chunk that is a JSON {type(chunk).__name__}", chunk, raw)
        try:
            return self._chunk(chunk, raw)
        except _Unjudged as exc:
            return self._unjudged(str(exc), chunk, raw)

    def finish(self) -> list[Emit]:
        if self._pending() and not self.finished:
            return self.fail("Blocked by keeptrusts: the stream ended inside a tool call")
        return []

    # ------------------------------------------------------------------ internals
    def _pending(self) -> bool:
        return any(s.pending for s in self._slots.values())

    def _unjudged(self, what: str, chunk, raw) -> list[Emit]:
        message = unjudged(self.judge, what)
        if message:
            return self.fail(message)
        return self._emit(chunk, raw, set())

    def _emit(self, chunk, raw, owners: set) -> list[Emit]:
        if not self._queue and not any(s.pending for s in owners):
            return [(chunk, raw)]
        self._queue.append((chunk, raw, owners))
        return self._flush()

    def _flush(self) -> list[Emit]:
        out: list[Emit] = []
        q = self._queue
        while q and not any(s.pending for s in q[0][2]):
            c, r, _ = q.popleft()
            out.append((c, r))
        return out

    def _slot(self, choice: int, tc: dict) -> _Slot:
        index, cid = tc.get("index"), tc.get("id")
        order = self._order.setdefault(choice, [])
        ambiguous = False
        if type(index) is int:
            key = ("i", index)
        elif index is not None:
            raise _Unjudged("a tool call whose index is not an integer")
        elif isinstance(cid, str) and cid:
            key, ambiguous = ("id", cid), True
        elif order:
            key, ambiguous = order[-1].key, True  # a continuation without index or id
        else:
            key, ambiguous = ("i", 0), True
        slot = self._slots.get((choice, key))
        if slot is None:
            slot = _Slot(choice, key, index if type(index) is int else len(order))
            self._slots[(choice, key)] = slot
            order.append(slot)
        slot.ambiguous = slot.ambiguous or ambiguous
        if cid is not None:
            if not isinstance(cid, str):
                raise _Unjudged("a tool call whose id is not a string")
            if slot.id is not None and cid and cid != slot.id:
                slot.ambiguous = True  # clients merge by index: the call they build is judged whole
            slot.id = slot.id or cid
        return slot

    def _fragment(self, slot: _Slot, kind: str, fn) -> None:
        if fn is None:
            return
        if not isinstance(fn, dict):
            raise _Unjudged("a tool call whose function is not an object")
        if slot.kind is not None and slot.kind != kind:
            slot.ambiguous = True
        slot.kind = slot.kind or kind
        name = fn.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise _Unjudged("a tool call whose name is not a string")
            if slot.name and name:
                slot.ambiguous = True  # a name in pieces: clients concatenate them
                slot.name += name
            elif name:
                slot.name = name
        text = fn.get("arguments" if kind == "function_call" else "input")
        if text is not None:
            if not isinstance(text, str):
                raise _Unjudged("tool call arguments that are not a string")
            slot.args.append(text)
        for k, v in fn.items():
            if k not in ("name", "arguments", "input") and v not in (None, ""):
                raise _Unjudged(f"a tool call field {k[:40]!r} the gateway does not know")

    def _chunk(self, chunk: dict, raw) -> list[Emit]:
        if isinstance(chunk.get("usage"), dict):
            self.completion.usage = usage_from_chat(chunk["usage"])
        choices = chunk.get("choices")
        if choices is None:
            return self._emit(chunk, raw, set())  # usage-only or error chunk
        if not isinstance(choices, list):
            raise _Unjudged("a chunk whose choices are not a list")
        owners: set = set()
        finishing: list[int] = []
        content_changed = False
        for ch in choices:
            if not isinstance(ch, dict):
                raise _Unjudged("a choice that is not an object")
            idx = ch.get("index", 0)
            if type(idx) is not int:
                raise _Unjudged("a choice whose index is not an integer")
            for k, v in ch.items():
                if k not in CHOICE_FIELDS and v is not None:
                    raise _Unjudged(f"a choice field {k[:40]!r} the gateway does not know")
            delta = ch.get("delta")
            if delta is None:
                delta = {}
            if not isinstance(delta, dict):
                raise _Unjudged("a delta that is not an object")
            for k, v in delta.items():
                if k not in INERT_DELTA_FIELDS and k not in CALL_DELTA_FIELDS and v not in (None, "", [], {}):
                    raise _Unjudged(f"a delta field {k[:40]!r} the gateway does not know")
            content = delta.get("content")
            if content is not None:
                if not isinstance(content, str):
                    raise _Unjudged("content that is not a string")
                self._text.setdefault(idx, []).append(content)
                new = self._restorer.feed(idx, content)
                if new != content:
                    delta["content"] = new
                    content_changed = True
            calls = delta.get("tool_calls")
            legacy = delta.get("function_call")
            if (calls or legacy) and idx in self._choices_done:
                raise _Unjudged("a tool call after its choice finished")
            if calls is not None:
                if not isinstance(calls, list):
                    raise _Unjudged("tool_calls that are not a list")
                for tc in calls:
                    if not isinstance(tc, dict):
                        raise _Unjudged("a tool call that is not an object")
                    typ = tc.get("type")
                    if typ not in (None, "function", "custom"):
                        raise _Unjudged(f"a tool call of type {str(typ)[:40]!r}")
                    for k, v in tc.items():
                        if k not in ("index", "id", "type", "function", "custom") and v is not None:
                            raise _Unjudged(f"a tool call field {k[:40]!r} the gateway does not know")
                    slot = self._slot(idx, tc)
                    if typ == "custom" or "custom" in tc:
                        self._fragment(slot, "custom_tool_call", tc.get("custom"))
                    self._fragment(slot, "function_call", tc.get("function"))
                    slot.kind = slot.kind or ("custom_tool_call" if typ == "custom" else "function_call")
                    owners.add(slot)
            if legacy is not None:
                slot = self._slots.get((idx, "fc"))
                if slot is None:
                    slot = _Slot(idx, "fc", len(self._order.setdefault(idx, [])))
                    self._slots[(idx, "fc")] = slot
                    self._order[idx].append(slot)
                self._fragment(slot, "function_call", legacy)
                owners.add(slot)
            fr = ch.get("finish_reason")
            if fr is not None:
                if not isinstance(fr, str):
                    raise _Unjudged("a finish_reason that is not a string")
                self.completion.finish_reason = fr
                finishing.append(idx)
                tail = self._restorer.flush(idx)
                if tail:
                    delta["content"] = (delta.get("content") or "") + tail
                    ch["delta"] = delta
                    content_changed = True
        emit_raw = None if content_changed else raw
        if not finishing:
            return self._emit(chunk, emit_raw, owners)
        self._queue.append((chunk, emit_raw, owners))  # queued first: a rewrite may have to edit it
        for idx in finishing:
            self._choices_done.add(idx)
            message = self._judge_choice(idx)
            if message:
                return self.fail(message)
        return self._flush()

    def _judge_choice(self, idx: int) -> str | None:
        """Judge a finished choice: its tool calls, then its text. Rewrites its held fragments when
        what the client would assemble could differ from what was judged."""
        slots = [s for s in self._order.get(idx, []) if s.pending]
        for s in slots:
            kind = s.kind or "function_call"
            s.oi = OutputItem(kind, "".join(s.args), s.name, s.id, s.tool_index)
            message = self.judge.item(s.oi)
            self.completion.items.append(s.oi)
            if message:
                return message
            s.pending = False
        if slots and any(s.ambiguous or s.oi.changed for s in self._order[idx]):
            self._rewrite(idx)
        if idx in self._texts_judged:
            return None
        self._texts_judged.add(idx)
        text = "".join(self._text.get(idx, []))
        if not text:
            return None
        oi = OutputItem("message", text, index=idx)
        self.completion.items.insert(0, oi)
        return self.judge.item(oi)

    def _rewrite(self, idx: int) -> None:
        """Replace every held fragment of choice `idx`'s calls by one whole call each, in the chunk
        where its first fragment was."""
        slots = self._order[idx]
        placed: set = set()
        new_q: deque = deque()
        for chunk, raw, owners in self._queue:
            mine = [s for s in owners if s.choice == idx]
            if mine and isinstance(chunk, dict):
                raw = None
                for ch in chunk.get("choices") or []:
                    if not isinstance(ch, dict) or ch.get("index", 0) != idx or not isinstance(ch.get("delta"), dict):
                        continue
                    delta = ch["delta"]
                    whole = []
                    for n, s in enumerate(slots):
                        if s in mine and s not in placed:
                            placed.add(s)
                            if s.key == "fc":
                                delta["function_call"] = {"name": s.name or "", "arguments": s.oi.text}
                            elif s.kind == "custom_tool_call":
                                whole.append({"index": n, "id": s.id, "type": "custom",
                                              "custom": {"name": s.name or "", "input": s.oi.text}})
                            else:
                                whole.append({"index": n, "id": s.id, "type": "function",
                                              "function": {"name": s.name or "", "arguments": s.oi.text}})
                        elif s.key == "fc" and s in mine:
                            delta.pop("function_call", None)
                    if "tool_calls" in delta:
                        if whole:
                            delta["tool_calls"] = whole
                        else:
                            del delta["tool_calls"]
                    elif whole:
                        delta["tool_calls"] = whole
            new_q.append((chunk, raw, owners))
        self._queue = new_q

    def _done(self, raw) -> list[Emit]:
        for idx in sorted(set(self._order) | set(self._text)):
            if idx in self._texts_judged and not any(s.pending for s in self._order.get(idx, [])):
                continue
            message = self._judge_choice(idx)
            if message:
                return self.fail(message)
        message = self.judge.done(self.completion)
        if message:
            return self.fail(message)
        out: list[Emit] = [(c, r) for c, r, _ in self._queue]
        self._queue.clear()
        self.finished = True
        return out + [("[DONE]", raw)]
