"""The hash chain: row_hash = H(prev_hash || canonical row content).

H is HMAC-SHA256 with the installation's audit key (nobody without the key can rebuild a consistent
chain after editing rows), or plain SHA-256 for a chain started unkeyed (older databases, or
`KEEPTRUSTS_AUDIT_HMAC_KEY=""`). The key is `KEEPTRUSTS_AUDIT_HMAC_KEY` when set, else the 0600 file
`<state dir>/audit-hmac.key` that the gateway generates at its first start. Canonical content is the
row's columns, normalised to their SQLite types, as sorted compact JSON, so the writer and
`kt audit verify` (which reads the row back) hash exactly the same bytes.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from .. import paths

GENESIS = "0" * 64
HMAC_ENV = "KEEPTRUSTS_AUDIT_HMAC_KEY"


class KeyFileError(Exception):
    """The key file exists but cannot be used (unreadable, empty): one line, how to fix."""


def key_from_env() -> bytes | None:
    """The audit key as every command finds it: `KEEPTRUSTS_AUDIT_HMAC_KEY` (its UTF-8 bytes as given,
    hex or not; set but empty means "no key"), else the state dir's key file when it exists."""
    return resolve_key(create=False)[0]


def resolve_key(explicit: bytes | None = None, *, create: bool = False) -> tuple[bytes | None, str]:
    """(key, where it came from): "argument", "env", "file", "created" (the key file was generated just
    now: the gateway's first start), "none" (explicitly unkeyed: an empty argument or variable) or
    "missing" (no variable, no key file and `create` False)."""
    if explicit is not None:
        return (explicit, "argument") if explicit else (None, "none")
    raw = os.environ.get(HMAC_ENV)
    if raw is not None:
        return (raw.encode("utf-8"), "env") if raw else (None, "none")
    path = paths.audit_hmac_key()
    key = read_key_file(path)
    if key is None and create:
        return create_key_file(path), "created"
    return (key, "file") if key is not None else (None, "missing")


def read_key_file(path: Path) -> bytes | None:
    """The key is the file's text without surrounding whitespace, as UTF-8 bytes, so
    `export KEEPTRUSTS_AUDIT_HMAC_KEY=$(cat audit-hmac.key)` gives the same key."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as exc:
        raise KeyFileError(f"cannot read the audit key {path}: {exc} (fix its permissions, or set "
                           f"{HMAC_ENV})") from None
    if not text:
        raise KeyFileError(f"the audit key {path} is empty: restore it from a backup (the chain cannot be "
                           "verified without it), or move the audit db away to start a new one")
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)        # a key readable by others is no key: tighten it
    return text.encode("utf-8")


def create_key_file(path: Path) -> bytes:
    """Generate the key atomically (written to a private temp file, then linked into place), so two
    processes starting at once agree on one key and nobody ever reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass                      # another process won the race: use its key
    finally:
        tmp.unlink(missing_ok=True)
    key = read_key_file(path)
    assert key is not None
    return key


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


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes):
    """HMAC state with the key already absorbed: copying it skips the two key-pad blocks per row."""
    return hmac.new(key, digestmod=hashlib.sha256)


def row_hash(prev_hash: str, content: dict, key: bytes | None) -> str:
    data = prev_hash.encode("ascii") + b"\n" + canonical(content)
    if key:
        h = _keyed(key).copy()
        h.update(data)
        return h.hexdigest()
    return hashlib.sha256(data).hexdigest()
