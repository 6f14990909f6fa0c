"""pii-detector: personal data in prompts and completions (reference 2.3). Filled in by issue 4."""
from __future__ import annotations

from ..schema import Choice, ListOf, MapOf, Number
from .base import SegmentPolicy


class PiiDetector(SegmentPolicy):
    kind = "pii-detector"
    phases = ("input", "output")
    reason_code = "pii_detected"
    options_schema = {
        "action": Choice("redact", "block"),
        "pci_mode": bool,
        "healthcare_mode": bool,
        "detect_patterns": ListOf(str),
        "entities": ListOf(str),
        "redaction": {
            "marker_format": Choice("label", "asterisk", "partial"),
            "include_metadata": bool,
            "preserve_length": bool,
            "custom_markers": MapOf(str),
        },
    }
