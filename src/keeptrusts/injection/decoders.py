"""Decode a candidate run (base64, hex, percent, rot13) and keep it only when it reads as text."""
from __future__ import annotations

import base64
import binascii
import codecs
import re
import urllib.parse

_HEX_SEP = re.compile(r"[\s:,]|\\+x|0x")


def _as_text(raw: bytes) -> str | None:
    if len(raw) < 12:
        return None
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for c in s if c.isprintable() or c in "\n\t\r")
    letters = sum(1 for c in s if c.isalpha())
    if printable < 0.95 * len(s) or letters < 0.5 * len(s.replace(" ", "")) or " " not in s.strip():
        return None  # binary, a hash, or one long token: not an instruction
    return s


def decode(kind: str, run: str) -> str | None:
    """kind is the decoder rule's short name: base64, base64url, hex, hex_spaced, hex_escaped, percent."""
    try:
        if kind in ("base64", "base64url"):
            s = run.strip().rstrip("=")
            s += "=" * (-len(s) % 4)
            raw = base64.urlsafe_b64decode(s) if kind == "base64url" else base64.b64decode(s, validate=True)
            return _as_text(raw)
        if kind in ("hex", "hex_spaced", "hex_escaped"):
            s = _HEX_SEP.sub("", run)
            if len(s) % 2:
                s = s[:-1]
            return _as_text(binascii.unhexlify(s))
        if kind == "percent":
            return _as_text(urllib.parse.unquote_to_bytes(run))
    except (binascii.Error, ValueError):
        return None
    return None


def rot13(text: str) -> str:
    return codecs.decode(text, "rot13")
