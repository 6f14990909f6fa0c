"""Rule families, one module each. `ALL_RULES` is every built-in rule, in a stable order."""
from __future__ import annotations

from . import commands, encoded, exfiltration, hidden, homoglyphs, languages, overrides, role_markers

FAMILY_MODULES = (overrides, languages, role_markers, commands, exfiltration, hidden, encoded, homoglyphs)
ALL_RULES = [r for m in FAMILY_MODULES for r in m.RULES]

# Families reported in findings (stable names, like detect-secrets' secret_type).
FAMILIES = (
    "instruction_override", "role_marker", "embedded_command", "exfiltration",
    "hidden_text", "encoded_payload", "homoglyph", "custom_pattern",
)
