"""Slack tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xapp-) and incoming webhook URLs."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class SlackTokenRecognizer(Recognizer):
    ENTITY = "slack_token"
    PATTERNS = [
        ("token", r"(?<![A-Za-z0-9])xox[abprse]-[0-9]{1,}-[0-9A-Za-z-]{10,}", 0.95),
        ("app_token", r"(?<![A-Za-z0-9])xapp-\d-[A-Z0-9]{6,}-\d{6,}-[a-f0-9]{32,}", 0.95),
        ("webhook", r"https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[A-Za-z0-9]{20,}", 1.0),
    ]
    PREFILTER = [r"xox[abprse]-\d", r"xapp-\d-", r"hooks\.slack\.com/"]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
