"""Twilio API key SIDs (SK + 32 hex) and auth tokens (32 hex next to a Twilio auth name)."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class TwilioKeyRecognizer(Recognizer):
    ENTITY = "twilio_api_key"
    PATTERNS = [
        ("api_key_sid", r"\bSK[0-9a-f]{32}\b", 0.9),
        ("auth_token", r"(?i)twilio[\w.-]{0,20}(?:auth|token|secret)[\w.\"']{0,10}\s*(?:=|:)\s*[\"']?(?P<v>[0-9a-f]{32})\b", 0.95),
    ]
    PREFILTER = [r"SK[0-9a-f]{32}", r"(?i)twilio.{0,40}[0-9a-f]{32}"]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
