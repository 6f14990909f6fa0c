"""AWS access key id: a fixed 4-letter prefix and 16 base32 characters."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class AwsAccessKeyRecognizer(Recognizer):
    ENTITY = "aws_access_key_id"
    PATTERNS = [("aws_key_id", r"(?:(?<![A-Za-z0-9])|(?<=\\[nrt]))(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b", 0.9)]
    PREFILTER = [r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"]

    def validate(self, value, match, line):
        doc = format_placeholder_verdict(value)
        return True if doc is None else doc
