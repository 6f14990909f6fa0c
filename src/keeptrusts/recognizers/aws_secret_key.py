"""AWS secret access key: 40 base64 characters next to an AWS secret name."""
from .base import Recognizer
from .checks import format_placeholder_verdict, shannon_entropy


class AwsSecretKeyRecognizer(Recognizer):
    ENTITY = "aws_secret_access_key"
    PATTERNS = [("aws_secret", r"(?i)(?:aws|amazon)?[\w.-]{0,20}(?:secret[\w.-]{0,20}key|secretkey|secret_access)"
                 r"[\w.\"'\]-]{0,5}\s*(?:=|:|=>|,)\s*[\"'`]?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", 0.9)]
    PREFILTER = [r"(?i)secret.{0,30}[A-Za-z0-9/+]{40}"]

    def validate(self, value, match, line):
        doc = format_placeholder_verdict(value)
        if doc is not None:
            return doc
        return shannon_entropy(value) >= 3.5
