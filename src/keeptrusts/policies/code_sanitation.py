"""code-sanitation (alias code-sanitizer): secrets in code context (reference 2.4). Filled in by issue 4."""
from __future__ import annotations

from ..schema import ListOf
from .base import SegmentPolicy


class CodeSanitation(SegmentPolicy):
    kind = "code-sanitation"
    aliases = ("code-sanitizer",)
    phases = ("input", "output")
    reason_code = "secret_detected"
    options_schema = {
        "enabled": bool,
        "block_on_match": bool,
        "additional_patterns": ListOf(str),
    }
