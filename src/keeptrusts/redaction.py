"""Deterministic placeholders and their scoped restoration.

A placeholder is `<SECRET:github_token:7f3a9c1b>` or `<PII:EMAIL_ADDRESS:0c9d2e11>`: a keyed hash of
the value with a per-installation key, so the same value gets the same placeholder in every turn
(the prompt prefix stays byte-identical and OpenAI's prompt cache keeps hitting) and nobody can
recover the value from the placeholder. Originals stay in this process's memory only (bounded),
so the gateway can put them back where the model echoes a placeholder in a tool call.

Scope (issue 15). A placeholder is a handle on a secret, so it must not be a key to it. Each original
is recorded with the `Scope` (developer, and session where known) of the request that created it,
and `restore(text, scope)` puts back only placeholders recorded for that scope: one developer's
placeholders stay placeholders in another developer's tool calls, even when that developer copies the
string out of the audit trail or asks the model to repeat it. Placeholders of a scoped request are
also derived with a per-developer key, so the same secret reads differently for two developers (a
placeholder string tells another developer nothing, not even that they hold the same value), while
within one developer it is still the same every turn and every session (prompt cache, resent history).
A session recorded with the original narrows it further: restored only in that session (an original
recorded without a session is restored in any session of its developer). `scope=None` is the legacy
global scope (one namespace for the whole process) that callers which know no identity keep using;
`Redactor(scoped=True)` refuses to restore for it, so a gateway that forgot to pass a scope fails
closed instead of restoring across identities.

Restoring into a tool call is also a question of where the result goes: `allow` (False, or a
predicate over the restored text) lets the caller refuse a restoration whose effect would send data
off the machine; the text then keeps its placeholders.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

PLACEHOLDER_RE = re.compile(r"<(SECRET|PII):([A-Za-z0-9_.-]{1,64}):([0-9a-f]{8})>")
# A text ending with a proper prefix of a placeholder may be cut mid-placeholder in a stream.
PARTIAL_TAIL_RE = re.compile(r"<(?:S(?:E(?:C(?:R(?:E(?:T(?::[A-Za-z0-9_.:-]{0,74})?)?)?)?)?)?|P(?:I(?:I(?::[A-Za-z0-9_.:-]{0,74})?)?)?)?$")


def load_key(state_dir: str | os.PathLike | None) -> bytes:
    """The per-installation redaction key: `$KEEPTRUSTS_REDACTION_KEY` (hex), or a 0600 file."""
    env = os.environ.get("KEEPTRUSTS_REDACTION_KEY")
    if env:
        return bytes.fromhex(env) if re.fullmatch(r"[0-9a-fA-F]{32,}", env) else env.encode()
    if state_dir is None:
        return secrets.token_bytes(32)
    path = Path(state_dir) / "redaction.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
        return key


@dataclass(frozen=True)
class Scope:
    """Who a placeholder belongs to: the developer (as the gateway identified them) and, where the client
    names one, the session. `developer` None is the unidentified caller (one shared identity)."""

    developer: str | None = None
    session: str | None = None

    @classmethod
    def of(cls, developer: str | None, session: str | None = None) -> "Scope":
        return cls(developer or None, session or None)


# Where the scope comes from when a caller does not pass one: set around a request's policy chain
# (`with redaction.scoped(Scope.of(dev, session)):`), because policies scan text without the exchange.
_CURRENT: ContextVar["Scope | None"] = ContextVar("keeptrusts_redaction_scope", default=None)
_UNSET = object()


@contextmanager
def scoped(scope: "Scope | None"):
    """Placeholders made (and restorations done) inside this block default to `scope`."""
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def current_scope() -> "Scope | None":
    """The scope set by the innermost `scoped()` block (None outside any): callers that cache redacted
    text by content must include it in the cache key, since the same text redacts differently per scope."""
    return _CURRENT.get()


# allow: True (restore), False (never: the call's effect is egress), or a predicate given the restored
# text that says whether restoring into it is acceptable.
Allow = Union[bool, Callable[[str], bool]]


@dataclass
class Restored:
    text: str
    restored: int = 0       # placeholders put back
    foreign: int = 0        # placeholders left as they are: another scope's, or unknown here
    refused: int = 0        # placeholders of this scope left as they are because `allow` said no


def no_egress(kind: str, name: str | None, workspace: str | None = None, home: str = "~") -> Callable[[str], bool]:
    """An `allow` predicate for one tool call: True only when the agent-firewall's effect model reads the
    restored call as local. A command that contacts any network host is refused, not only one that sends
    a body: a secret in a URL or a header leaves the machine too. A patch is local; any other tool (MCP,
    IDE tools) has an effect nobody here can read, so it is refused (fail closed), as is a call that
    cannot be parsed."""
    def allow(text: str) -> bool:
        from .toolcalls import effects_of, extract_actions      # lazy: redaction stays a leaf module

        actions = extract_actions(kind, name, text, cwd=workspace, home=home)
        if not actions:
            return False
        for action in actions:
            if action.kind == "patch":
                continue
            if action.kind != "shell":
                return False
            for cmd in action.commands:
                e = effects_of(cmd)
                if e.egress or e.hosts:
                    return False
        return True
    return allow


def _is_json(text: str) -> bool:
    """A JSON object or array: an original put inside it must be JSON-escaped to keep it valid."""
    if text[:1] not in ("{", "[") and not text.lstrip()[:1] in ("{", "["):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _scope_id(scope: "Scope | None") -> tuple | None:
    return None if scope is None else (scope.developer or "", scope.session)


class Redactor:
    def __init__(self, key: bytes | None = None, max_entries: int = 100_000, *, scoped: bool = False):
        """`scoped` True (the gateway): restoring for the legacy scope None restores nothing."""
        self.key = key or secrets.token_bytes(32)
        self.scoped = scoped
        # (placeholder, scope id) -> original; scope id None is the legacy global scope.
        self._originals: OrderedDict[tuple[str, tuple | None], str] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self._dev_keys: dict[str, bytes] = {}

    def _developer_key(self, developer: str) -> bytes:
        k = self._dev_keys.get(developer)
        if k is None:
            k = hmac.new(self.key, b"keeptrusts-placeholder-scope\0" + developer.encode("utf-8", "surrogatepass"),
                         hashlib.sha256).digest()
            if len(self._dev_keys) < 10_000:       # bounded: developers are few, a flood of names is not
                self._dev_keys[developer] = k
        return k

    def placeholder(self, category: str, type_: str, value: str, scope=_UNSET) -> str:
        """category: "SECRET" or "PII"; type_: e.g. "github_token", "EMAIL_ADDRESS".

        `scope`: whose request this value came from (default: the `scoped()` block's, else None, the
        legacy global scope). Same value + same developer -> same placeholder, every turn."""
        if scope is _UNSET:
            scope = _CURRENT.get()
        key = self.key if scope is None else self._developer_key(scope.developer or "")
        digest = hmac.new(key, f"{type_}\0{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:8]
        ph = f"<{category}:{type_}:{digest}>"
        entry = (ph, _scope_id(scope))
        with self._lock:
            self._originals[entry] = value
            self._originals.move_to_end(entry)
            if len(self._originals) > self._max:
                self._originals.popitem(last=False)
        return ph

    def original(self, placeholder: str, scope=_UNSET) -> str | None:
        """The value behind `placeholder` for `scope`, or None (unknown, or another scope's)."""
        if scope is _UNSET:
            scope = _CURRENT.get()
        if scope is None and self.scoped:
            return None
        sid = _scope_id(scope)
        with self._lock:
            found = self._originals.get((placeholder, sid))
            if found is None and sid is not None and sid[1] is not None:
                # recorded without a session: valid in every session of its developer
                found = self._originals.get((placeholder, (sid[0], None)))
            return found

    def restore(self, text: str, scope=_UNSET, allow: Allow = True) -> tuple[str, int]:
        """Put back the originals of `scope`'s placeholders; returns (text, count). Others stay verbatim."""
        r = self.restore_checked(text, scope, allow)
        return r.text, r.restored

    def restore_json_string(self, text: str, scope=_UNSET, allow: Allow = True) -> tuple[str, int]:
        """Restore inside a JSON-encoded string (tool call arguments): originals are JSON-escaped."""
        r = self.restore_checked(text, scope, allow, json_string=True)
        return r.text, r.restored

    def restore_checked(self, text: str, scope=_UNSET, allow: Allow = True, *, json_string: bool = False) -> Restored:
        """Like restore(), with what was left alone and why (for the audit record and metrics).

        `allow` False restores nothing; a callable is asked with the fully restored text and restoring
        happens only if it returns True (judge the effect of what would actually run)."""
        if "<" not in text:
            return Restored(text)
        if scope is _UNSET:
            scope = _CURRENT.get()
        encode = (lambda orig: json.dumps(orig)[1:-1]) if json_string else (lambda orig: orig)
        counts = {"restored": 0, "foreign": 0}

        def sub(m: re.Match) -> str:
            orig = self.original(m.group(0), scope)
            if orig is None:
                counts["foreign"] += 1
                return m.group(0)
            counts["restored"] += 1
            return encode(orig)

        out = PLACEHOLDER_RE.sub(sub, text)
        if not counts["restored"]:
            return Restored(text, foreign=counts["foreign"])
        try:
            ok = allow(out) if callable(allow) else bool(allow)
        except Exception:          # a judge that cannot decide does not let a secret out
            ok = False
        if not ok:
            return Restored(text, foreign=counts["foreign"], refused=counts["restored"])
        return Restored(out, restored=counts["restored"], foreign=counts["foreign"])

    def restore_tool_call(self, kind: str, name: str | None, text: str, scope=_UNSET, *,
                          workspace: str | None = None, allow: Allow | None = None) -> Restored:
        """Restore one tool call the model emitted, the way the gateway should: only `scope`'s placeholders,
        JSON-escaped when the call's text is JSON (function arguments, local_shell/shell/mcp actions), and
        only if the call's effect is local (`allow` defaults to `no_egress(kind, name, workspace)`)."""
        judge = no_egress(kind, name, workspace) if allow is None else allow
        return self.restore_checked(text, scope, judge, json_string=_is_json(text))

    @staticmethod
    def split_partial(text: str) -> tuple[str, str]:
        """Split a stream chunk into (safe to emit now, tail that may start a placeholder)."""
        m = PARTIAL_TAIL_RE.search(text[-80:]) if "<" in text[-80:] else None
        if not m:
            return text, ""
        cut = len(text) - (len(text[-80:]) - m.start())
        return text[:cut], text[cut:]
