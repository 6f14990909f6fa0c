"""Homoglyphs: markers for text that needs folding before the other rules can read it.

A Latin letter next to a Cyrillic or Greek look-alike (inside one word), or compatibility forms
(fullwidth, mathematical alphanumerics), switch on the skeleton scan in the scanner; a finding that
only appears in the skeleton is reported as a homoglyph finding.
"""
from ..normalize import LOOKALIKES, SMALL_CAPS
from ..rule import MARKER, rules

FAMILY = "homoglyph"

RULES = rules(FAMILY, [
    ("mixed_script_word", 0.0, f"[A-Za-z][{LOOKALIKES}]|[{LOOKALIKES}][A-Za-z]", MARKER, True),
    # Fullwidth, mathematical, number forms (Ⅰ), enclosed letters: NFKC turns them into ASCII.
    ("compatibility_forms", 0.0, "[\uff01-\uff5e\U0001d400-\U0001d7ff\u2150-\u218f\u2460-\u24ff\U0001f130-\U0001f189]", MARKER, True),
    ("small_caps", 0.0, "[" + "".join(SMALL_CAPS) + "]{2,}", MARKER, True),
])
