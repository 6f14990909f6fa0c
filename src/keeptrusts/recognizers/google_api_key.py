"""Google API keys (AIza + 35 characters) and OAuth client secrets (GOCSPX-)."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class GoogleApiKeyRecognizer(Recognizer):
    ENTITY = "google_api_key"
    PATTERNS = [
        ("api_key", r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", 0.95),
        ("oauth_secret", r"(?<![A-Za-z0-9])GOCSPX-[0-9A-Za-z_-]{28}(?![0-9A-Za-z_-])", 0.95),
    ]
    PREFILTER = [r"AIza[0-9A-Za-z_-]{35}", r"GOCSPX-[0-9A-Za-z_-]{28}"]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
