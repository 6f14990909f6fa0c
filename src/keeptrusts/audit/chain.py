"""The hash chain: row_hash = H(prev_hash || canonical row content).

H is SHA-256, or HMAC-SHA256 when `KEEPTRUSTS_AUDIT_HMAC_KEY` is set (then nobody without the key
can rebuild a consistent chain after editing rows). Canonical content is the row's columns,
normalised to their SQLite types, as sorted compact JSON, so the writer and `kt audit verify`
(which reads the row back) hash exactly the same bytes.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os

GENESIS = "0" * 64
HMAC_ENV = "KEEPTRUSTS_AUDIT_HMAC_KEY"


def key_from_env() -> bytes | None:
    """The key is the variable's UTF-8 bytes as given (hex or not), so every process agrees on it."""
    raw = os.environ.get(HMAC_ENV)
    return raw.encode("utf-8") if raw else None


def key_id(key: bytes | None) -> str | None:
    """A short public name for a key (so verify can say "wrong key"), revealing nothing about it."""
    return hmac.new(key, b"keeptrusts-audit-key-id", hashlib.sha256).hexdigest()[:16] if key else None


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=True).encode("utf-8")


@functools.lru_cache(maxsize=2048)
def item_hash(body: str) -> str:
    """Content address of a stored history item (its canonical JSON text).

    Memoised: Codex resends the same history items every turn, and a dictionary lookup (Python's
    cached string hash plus one comparison) is several times cheaper than SHA-256 over them again."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def row_hash(prev_hash: str, content: dict, key: bytes | None) -> str:
    data = prev_hash.encode("ascii") + b"\n" + canonical(content)
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()
