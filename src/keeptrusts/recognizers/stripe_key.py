"""Stripe secret and restricted keys (live and test). Publishable pk_ keys are public by design."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class StripeKeyRecognizer(Recognizer):
    ENTITY = "stripe_api_key"
    PATTERNS = [("secret", r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,}\b", 0.95)]
    PREFILTER = [r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20}"]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
