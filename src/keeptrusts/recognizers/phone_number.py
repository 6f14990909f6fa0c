"""Phone numbers, validated by libphonenumber (presidio's choice): international (+CC ...), US, and the
national formats of the UK, Germany, France, India, Brazil and Japan (trunk prefix 0, or India's
10-digit mobiles and Brazil's (DD) area code), plus any number in a field labelled as a phone."""
import functools
import re

import phonenumbers

from .base import Recognizer

# Regions whose national formats are tried, most common first.
NATIONAL_REGIONS = ("US", "GB", "DE", "FR", "IN", "BR", "JP")
_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{2}[-/.]\d{2}|\d{2}[-/.]\d{2}[-/.]\d{4}")


@functools.lru_cache(maxsize=4096)
def _valid(value: str, regions: tuple[str, ...] = ("US",)) -> bool:
    """libphonenumber is the slow step (~0.1 ms); the same number recurs across turns and files."""
    for region in ((None,) if value.startswith("+") else regions):
        try:
            num = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return True
    return False


_LABEL = (r"(?:phone|tel|telephone|mobile|mob|cell|fax|contact[ _-]?(?:no|number)|whatsapp|sms|telefon|t[ée]l[ée]phone|"
          r"portable|celular|telefone|tel[ée]fono|handy|電話|携帯)")


class PhoneNumberRecognizer(Recognizer):
    ENTITY = "PHONE_NUMBER"
    CATEGORY = "PII"
    PATTERNS = [
        ("international", r"(?<![\w.+-])\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,8}){1,4}(?![\w.-])", 0.6),
        ("e164", r"(?<![\w.+-])\+[1-9]\d{9,13}(?![\w.-])", 0.5),
        ("nanp", r"(?<![\w.+-])(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w.-])", 0.5),
        # 020 7946 0958, 030 12345678, 01 23 45 67 89, 03-1234-5678, 098765 43210: trunk 0 and separators
        ("national", r"(?<![\w.+-])(?<!\d[ .-])\(?0\d{1,4}\)?(?:[ .-]\d{2,8}){1,4}(?![\w.-])", 0.5),
        # Brazil (11) 91234-5678, India 98765 43210
        ("br", r"(?<![\w.+-])\(\d{2}\)\s?9?\d{4}-\d{4}(?![\w.-])", 0.55),
        ("in_mobile", r"(?<![\w.+-])(?<!\d[ .-])[6-9]\d{4}[ -]\d{5}(?![\w.-])", 0.5),
        # phone: 9876543210, "tel": "0301234567": digits in a field named as a phone
        ("labelled", r"(?i)\b" + _LABEL + r"[\w\"' .#:=(-]{0,20}?(?P<v>\+?\(?\d[\d ().-]{6,18}\d)(?![\w.-])", 0.6),
    ]
    PREFILTER = [r"\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}[ .-]?\d{2}",
                 r"(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}",
                 r"\(?0\d{1,4}\)?[ .-]\d{2,8}[ .-]\d{2}", r"\(?0\d{1,4}\)?[ .-]\d{6,8}",
                 r"\(\d{2}\)\s?9?\d{4}-\d{4}",
                 r"[6-9]\d{4}[ -]\d{5}",
                 r"(?i)" + _LABEL + r"[\w\"' .#:=(-]{0,20}\+?\(?\d[\d ().-]{6}"]
    PREFILTER_FOR = [("international", "e164"), ("nanp",), ("national",), ("national",), ("br",), ("in_mobile",), ("labelled",)]
    CONTEXT = ["phone", "tel", "mobile", "cell", "call", "fax", "contact", "whatsapp", "sms", "telefon", "portable",
               "celular", "handy"]

    def validate(self, value, match, line):
        if _DATE_LIKE.fullmatch(value.strip("()")):
            return False
        kind = match.re.pattern
        digits = sum(c.isdigit() for c in value)
        if not 7 <= digits <= 15 or "0000-" in value or "-0000" in value:
            return False          # too short or long for any plan; uuid and hex-dump groups
        if value.startswith("+"):
            return 0.9 if _valid(value) else False
        if kind == self.compiled[2][1].pattern:                               # nanp
            return None if _valid(value, ("US",)) else False
        regions = {3: ("GB", "DE", "FR", "JP", "IN", "BR"), 4: ("BR",), 5: ("IN",)}
        for i, regs in regions.items():
            if kind == self.compiled[i][1].pattern:
                return None if _valid(value, regs) else False
        # labelled: the field says phone; any of the regions will do (8+ digits: 863-1234 is a local extension)
        if sum(c.isdigit() for c in value) < 8:
            return False
        return 0.9 if _valid(value, NATIONAL_REGIONS) else False
