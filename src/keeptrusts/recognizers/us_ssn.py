"""US Social Security numbers in the AAA-GG-SSSS form, with the SSA's never-issued ranges excluded."""
from .base import Recognizer

_FAMOUS = {"123-45-6789", "078-05-1120", "219-09-9999", "457-55-5462"}


class SocialSecurityNumberRecognizer(Recognizer):
    ENTITY = "US_SSN"
    CATEGORY = "PII"
    PATTERNS = [("dashed", r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w.-])", 0.6),
                ("spaced", r"(?<![\w.-])\d{3} \d{2} \d{4}(?![\w.-])", 0.3)]
    PREFILTER = [r"\d{3}[- ]\d{2}[- ]\d{4}"]
    CONTEXT = ["ssn", "social security", "social_security", "taxpayer", "tin"]

    def validate(self, value, match, line):
        area, group, serial = value.replace(" ", "-").split("-")
        if value.replace(" ", "-") in _FAMOUS or area in ("000", "666") or area[0] == "9":
            return False
        if group == "00" or serial == "0000" or len(set(area + group + serial)) < 3:
            return False
        return None
