"""Phone numbers with separators or a + country code, validated by libphonenumber (presidio's choice)."""
import functools

import phonenumbers

from .base import Recognizer


@functools.lru_cache(maxsize=4096)
def _valid(value: str) -> bool:
    """libphonenumber is the slow step (~0.1 ms); the same number recurs across turns and files."""
    try:
        num = phonenumbers.parse(value, None if value.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(num)


class PhoneNumberRecognizer(Recognizer):
    ENTITY = "PHONE_NUMBER"
    CATEGORY = "PII"
    PATTERNS = [
        ("international", r"(?<![\w.+-])\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,8}){1,4}(?![\w.-])", 0.6),
        ("e164", r"(?<![\w.+-])\+[1-9]\d{9,13}(?![\w.-])", 0.5),
        ("nanp", r"(?<![\w.+-])(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w.-])", 0.5),
    ]
    PREFILTER = [r"\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}[ .-]?\d{2}",
                 r"(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}"]
    CONTEXT = ["phone", "tel", "mobile", "cell", "call", "fax", "contact", "whatsapp", "sms"]

    def validate(self, value, match, line):
        if not _valid(value):
            return False
        # A valid +CC number is rarely anything else; a bare US-shaped one needs words around it.
        return 0.9 if value.startswith("+") else None
