"""Unicode normalisation for scanning: invisible characters, tag text, homoglyph skeletons.

`strip_invisible` removes what renders as nothing (zero-width, bidi controls, soft hyphen, tag
characters); `decode_tags` reads tag characters as the ASCII they smuggle; `skeleton` folds
compatibility forms (NFKC: fullwidth, mathematical letters) and common Cyrillic/Greek look-alikes
to Latin, so "іgnоrе" (with Cyrillic і, о, е) scans as "ignore".
"""
from __future__ import annotations

import re
import unicodedata

INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u200b\u200c\u200d\u200e\u200f"
             "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b"
             "\u206c\u206d\u206e\u206f\u3164\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a"
             "\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f\ufeff\uffa0")
_INVISIBLE_RX = re.compile("[" + INVISIBLE + "\U000E0000-\U000E007F]")
_TAG_RUN = re.compile("[\U000E0000-\U000E007F]{4,}")

# Look-alikes of Latin letters (a subset of Unicode's confusables.txt: the letters attacks use).
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ү": "y", "ɡ": "g", "ո": "n", "ս": "u", "օ": "o", "р": "p", "ԍ": "g", "ӏ": "l", "ɑ": "a",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Ү": "Y", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin extensions and symbols that read as ASCII letters
    "ı": "i", "ȷ": "j", "Ɩ": "l", "ǀ": "l", "ℓ": "l", "ꞵ": "b", "ꮪ": "s", "ꓲ": "I",
    "ⅰ": "i", "ⅼ": "l", "ⅽ": "c", "ⅾ": "d", "ⅿ": "m", "ꜱ": "s", "ᴄ": "c", "ᴏ": "o", "ᴠ": "v", "ᴡ": "w",
    "ᴢ": "z", "ɪ": "i", "ʀ": "r", "ɴ": "n", "ʏ": "y", "ᴀ": "a", "ᴇ": "e", "ᴛ": "t", "ᴜ": "u", "ᴍ": "m",
}
_FOLD = str.maketrans(_CONFUSABLES)
# Small capitals and IPA letters that read as Latin: no language writes prose in them, so they are
# folded everywhere (ɪɢɴᴏʀᴇ -> ignore), not only in words mixed with ASCII.
SMALL_CAPS = {
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j",
    "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ǫ": "q", "ʀ": "r", "ꜱ": "s", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
}
_FOLD_ALWAYS = str.maketrans(SMALL_CAPS)


def strip_invisible(text: str) -> str:
    return _INVISIBLE_RX.sub("", text)


def has_invisible(text: str) -> bool:
    return _INVISIBLE_RX.search(text) is not None


def decode_tags(text: str) -> list[str]:
    """The ASCII text hidden in each run of Unicode tag characters."""
    out = []
    for m in _TAG_RUN.finditer(text):
        s = "".join(chr(ord(c) - 0xE0000) for c in m.group(0) if 0x20 <= ord(c) - 0xE0000 < 0x7F)
        if s.strip():
            out.append(s)
    return out


def reveal_tags(text: str) -> str:
    """Replace each tag run with a visible rendering, so a reader sees what was hidden."""
    def show(m: re.Match) -> str:
        s = "".join(chr(ord(c) - 0xE0000) for c in m.group(0) if 0x20 <= ord(c) - 0xE0000 < 0x7F)
        return f"[hidden text: {s}]" if s.strip() else ""
    return _TAG_RUN.sub(show, text)


def skeleton(text: str, fold_homoglyphs: bool = True) -> str:
    """NFKC, then look-alike folding in words that mix scripts with Latin letters."""
    out = unicodedata.normalize("NFKC", text)
    if fold_homoglyphs:
        out = out.translate(_FOLD_ALWAYS)
        out = _MIXED_WORD.sub(lambda m: m.group(0).translate(_FOLD), out)
    return out


# A word holding both ASCII letters and look-alikes; purely Cyrillic or Greek words stay as they are
# (the language rules read them), so Russian prose is not folded into nonsense Latin.
LOOKALIKES = "".join(sorted(_CONFUSABLES))
_MIXED_WORD = re.compile(rf"\b(?=\w*[A-Za-z])(?=\w*[{LOOKALIKES}])\w+\b")
