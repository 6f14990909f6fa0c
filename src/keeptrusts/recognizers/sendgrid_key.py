"""SendGrid API keys: SG.<22>.<43>."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class SendgridKeyRecognizer(Recognizer):
    ENTITY = "sendgrid_api_key"
    PATTERNS = [("key", r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", 1.0)]
    PREFILTER = [r"SG\.[A-Za-z0-9_-]{22}\."]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
