"""prompt-injection: direct and indirect injection (reference 2.5). Filled in by issue 6."""
from __future__ import annotations

from ..schema import Choice, ListOf, Number
from .base import SegmentPolicy


class PromptInjection(SegmentPolicy):
    kind = "prompt-injection"
    single_document = True
    reason_code = "prompt_injection_detected"
    options_schema = {
        "threshold": Number,
        "embedding_threshold": Number,
        "action": Choice("block", "flag", "warn", "escalate", "neutralize", "log"),
        "encoding": {"decode_base64": bool, "normalize_unicode": bool, "detect_homoglyphs": bool},
        "detection": {"embedding_threshold": Number, "attack_patterns": ListOf(str)},
        "response": {"action": Choice("block", "flag", "warn", "escalate", "neutralize", "log"), "message": str},
    }
