"""safety-filter: unsafe intent in prompts and completions (reference 2.6). Filled in by issue 5."""
from __future__ import annotations

from ..schema import Choice, ListOf
from .base import SegmentPolicy


class SafetyFilter(SegmentPolicy):
    kind = "safety-filter"
    phases = ("input", "output")
    reason_code = "unsafe_content"
    options_schema = {
        "mode": Choice("critical_infrastructure", "automotive", "education", "law_enforcement"),
        "block_if": ListOf(str),
        "action": Choice("block", "escalate", "flag", "warn"),
        "fuzzy_matching": bool,
        "max_distance": int,
        "max_age": int,
    }
