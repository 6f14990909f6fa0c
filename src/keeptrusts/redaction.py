"""Deterministic placeholders and their restoration.

A placeholder is `<SECRET:github_token:7f3a9c1b>` or `<PII:EMAIL_ADDRESS:0c9d2e11>`: a keyed hash of
the value with a per-installation key, so the same value gets the same placeholder in every turn
(the prompt prefix stays byte-identical and OpenAI's prompt cache keeps hitting) and nobody can
recover the value from the placeholder. Originals stay in this process's memory only (bounded),
so the gateway can put them back where the model echoes a placeholder in a tool call.
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
from pathlib import Path

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


class Redactor:
    def __init__(self, key: bytes | None = None, max_entries: int = 100_000):
        self.key = key or secrets.token_bytes(32)
        self._originals: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def placeholder(self, category: str, type_: str, value: str) -> str:
        """category: "SECRET" or "PII"; type_: e.g. "github_token", "EMAIL_ADDRESS"."""
        digest = hmac.new(self.key, f"{type_}\0{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:8]
        ph = f"<{category}:{type_}:{digest}>"
        with self._lock:
            self._originals[ph] = value
            self._originals.move_to_end(ph)
            if len(self._originals) > self._max:
                self._originals.popitem(last=False)
        return ph

    def original(self, placeholder: str) -> str | None:
        with self._lock:
            return self._originals.get(placeholder)

    def restore(self, text: str) -> tuple[str, int]:
        """Put originals back for every placeholder this process made; returns (text, count)."""
        return self._restore(text, lambda orig: orig)

    def restore_json_string(self, text: str) -> tuple[str, int]:
        """Restore inside a JSON-encoded string (tool call arguments): originals are JSON-escaped."""
        return self._restore(text, lambda orig: json.dumps(orig)[1:-1])

    def _restore(self, text: str, encode) -> tuple[str, int]:
        if "<" not in text:
            return text, 0
        count = 0

        def sub(m: re.Match) -> str:
            nonlocal count
            orig = self.original(m.group(0))
            if orig is None:
                return m.group(0)
            count += 1
            return encode(orig)

        return PLACEHOLDER_RE.sub(sub, text), count

    @staticmethod
    def split_partial(text: str) -> tuple[str, str]:
        """Split a stream chunk into (safe to emit now, tail that may start a placeholder)."""
        m = PARTIAL_TAIL_RE.search(text[-80:]) if "<" in text[-80:] else None
        if not m:
            return text, ""
        cut = len(text) - (len(text[-80:]) - m.start())
        return text[:cut], text[cut:]
