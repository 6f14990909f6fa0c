"""Bearer / token credentials in Authorization headers (curl -H, HTTP dumps, code)."""
from .base import Recognizer
from .checks import char_classes, looks_placeholder, shannon_entropy


class BearerTokenRecognizer(Recognizer):
    ENTITY = "bearer_token"
    PATTERNS = [("auth_header", r"(?i)\bauthorization[\"']?\s*[:=,]\s*[\"']?(?:bearer|token|basic)\s+(?P<v>[A-Za-z0-9_.~+/%-]{16,}=*)", 0.8),
                ("bearer", r"\b[Bb]earer\s+(?P<v>[A-Za-z0-9_.~+/%-]{20,}=*)", 0.6)]
    PREFILTER = [r"(?:[Bb]earer|[Tt]oken|[Bb]asic)\s+[A-Za-z0-9_.~+/-]{16}"]
    CONTEXT = ["authorization", "header", "curl", "-h"]

    def validate(self, value, match, line):
        # X (Twitter) app-only tokens start with twenty-odd A's: judge the random part after them.
        value = value.lstrip("A") if value.startswith("A" * 20) else value
        if looks_placeholder(value) or shannon_entropy(value) < 3.2 or char_classes(value) < 2:
            return False
        return None
