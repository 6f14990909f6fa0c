"""Hidden text: characters a human reviewer does not see but the model reads.

Unicode tag characters (U+E0000 block) spell ASCII invisibly ("ASCII smuggling"); zero-width
characters split trigger words or encode bits; bidi controls reorder what a reviewer sees (Trojan
Source). The scanner also decodes tag text and strips zero-width characters, then scans again;
instructions inside HTML comments or CSS-hidden elements are found by context (see context.py).
"""
from ..normalize import INVISIBLE
from ..rule import ANY, MARKER, rules

FAMILY = "hidden_text"

_ZW = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e"

RULES = rules(FAMILY, [
    # A subdivision flag (England) uses 5-6 tag characters after U+1F3F4; smuggled text is longer.
    ("unicode_tags", 0.7, "[\U000E0000-\U000E007F]{8,}"),
    ("zero_width_in_word", 0.35, "[A-Za-z][" + _ZW + "]+[A-Za-z]"),
    ("zero_width_run", 0.5, "[" + _ZW + "]{6,}"),
    ("bidi_override", 0.3, "[\u202a\u202b\u202d\u202e\u2066\u2067\u2068]"),
    # Any invisible character at all: the scanner then strips them and scans again.
    ("invisible_present", 0.0, "[" + INVISIBLE + "\U000E0000-\U000E007F]", MARKER),
], ANY)
