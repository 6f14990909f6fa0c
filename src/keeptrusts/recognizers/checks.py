"""Validators shared by recognizers: checksums, entropy and the look of fake or placeholder values.

Each takes the candidate value and answers cheaply; recognizers list them as data.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections import Counter

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def shannon_entropy(value: str) -> float:
    """Bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def char_classes(value: str) -> int:
    """How many of lower, upper, digit, other a value mixes."""
    return (any(c.islower() for c in value) + any(c.isupper() for c in value)
            + any(c.isdigit() for c in value) + any(not c.isalnum() for c in value))


def base62_crc32(data: str) -> str:
    n = zlib.crc32(data.encode()) & 0xFFFFFFFF
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(6, "0")


def github_style_checksum_ok(token: str) -> bool:
    """GitHub (ghp_, gho_ ...) and npm (npm_) tokens: 30 random chars + base62 CRC32 of them."""
    body = token.split("_", 1)[1]
    return len(body) == 36 and base62_crc32(body[:30]) == body[30:]


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


def b64url_json(part: str) -> dict | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        obj = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


# Values people write where a real secret would go: never redact these.
_PLACEHOLDER_WORDS = re.compile(
    r"(?i)(?:your|my|the)[-_ ]?(?:api[-_ ]?)?(?:key|token|secret|password|pass)|"
    r"example|sample|dummy|placeholder|changeme|change[-_]me|replace[-_]?me|redacted|"
    r"\b(?:insert|enter|put)[-_ ](?:your|the|a|an|here|key|token|secret|password)|fake|foobar|not[-_]?a[-_]?real|xxxx|\.\.\.|<[^>]*>|"
    r"\$\{|\$\(|\{\{|(?-i:%\(\w+\)[sd]|(?<![A-Za-z0-9!#%^&*])%[sd](?![A-Za-z0-9]))|\{[a-z_]*\}|\$[A-Z_]{3,}|^\$|^env\b|process\.env|os\.environ|getenv")
_REPEATS = re.compile(r"(.)\1{5,}")


def looks_placeholder(value: str) -> bool:
    for m in _PLACEHOLDER_WORDS.finditer(value):
        word = m.group(0)
        # "EXAMPLE", "example", "Example" are markers; "fAkE" inside random base64 is chance.
        if word.islower() or word.isupper() or word.istitle() or not word.isalpha():
            return True
    # xxxxxx, 000000: documentation filler when the run is a good part of the value (real tokens,
    # e.g. AWS session tokens, can hold a run like "//////////" inside 300 random characters).
    if any(len(m.group(0)) >= max(6, 0.3 * len(value)) for m in _REPEATS.finditer(value)):
        return True
    return len(set(value)) <= 3


_TEMPLATE = re.compile(r"\$\{|\$\(|\{\{|<[^>]*>|\.\.\.|%\(\w+\)[sd]|^\$|process\.env|os\.environ|getenv")


def filler(value: str) -> bool:
    """xxxxxxxx, 00000000, ${TOKEN}, <key>: a slot where a value would go, not a value."""
    if len(set(value)) <= 3 or _TEMPLATE.search(value):
        return True
    return any(len(m.group(0)) >= max(6, 0.5 * len(value)) for m in _REPEATS.finditer(value))


def format_placeholder_verdict(value: str, body: str | None = None):
    """For a value already in a provider's exact token format: filler is dropped (False); a value with
    documentation markers (AKIA...EXAMPLE, sk_test_...fake...) is DOC, masked by default (mask when in
    doubt); anything else None (the recognizer decides). `body`: the part after a fixed prefix."""
    from .base import DOC

    if filler(body if body is not None else value):
        return False
    return DOC if looks_placeholder(value) else None


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.:/-][A-Za-z_][A-Za-z0-9_]*)*\(?\)?")


def looks_identifier(value: str) -> bool:
    """snake_case / camelCase / dotted names: code, not secrets (unless they carry digits and mixed case)."""
    if not _IDENTIFIER.fullmatch(value):
        return False
    parts = re.split(r"[._:/-]", value)
    # Words made of letters only (with at most a trailing digit group) read as names, not keys.
    return all(re.fullmatch(r"[A-Za-z]+[0-9]{0,2}|[A-Z_]+|[a-z_]+[0-9]{0,2}", p or "x") for p in parts) or \
        (value.isidentifier() and shannon_entropy(value) < 3.3)


def random_mixed_case(value: str) -> bool:
    """Generated strings switch case every letter or two; identifiers are made of whole words."""
    letters = sum(c.isalpha() for c in value)
    if len(value) < 16 or letters < 12 or shannon_entropy(value) < 3.5:
        return False
    words = re.findall(r"[A-Z][a-z]+|[a-z]+|[A-Z]+", value)
    if not words:
        return False
    vowels = sum(c in "aeiouAEIOU" for c in value) / letters
    # Random letters: short case runs, or few vowels (about 10 in 52 letters vs ~40% in words).
    return sum(map(len, words)) / len(words) < 3.2 or vowels < 0.22


def high_entropy(value: str, minimum: float = 3.0, min_len: int = 16) -> bool:
    return len(value) >= min_len and shannon_entropy(value) >= minimum and char_classes(value) >= 2
