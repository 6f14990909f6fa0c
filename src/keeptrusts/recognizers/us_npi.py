"""US National Provider Identifier (healthcare_mode): 10 digits, Luhn over the 80840 prefix, named nearby."""
from .base import Recognizer
from .checks import luhn_ok


class ProviderNpiRecognizer(Recognizer):
    ENTITY = "US_NPI"
    CATEGORY = "PII"
    DEFAULT_ENABLED = False
    PATTERNS = [("npi", r"(?i)\bnpi[\w\"' #:=-]{0,12}?(?P<v>[12]\d{9})\b", 0.7)]
    PREFILTER = [r"(?i)npi[\w\"' #:=-]{0,12}[12]\d{9}"]

    def validate(self, value, match, line):
        return True if luhn_ok("80840" + value) else False
