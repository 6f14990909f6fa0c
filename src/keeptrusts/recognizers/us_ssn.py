"""US Social Security numbers in the AAA-GG-SSSS form. Never-issued ranges (000, 666, 9xx, group 00,
serial 0000) and famous specimens are DOC values: masked unless the pack allows them."""
from .base import DOC, Recognizer

_FAMOUS = {"123-45-6789", "078-05-1120", "219-09-9999", "457-55-5462"}


class SocialSecurityNumberRecognizer(Recognizer):
    ENTITY = "US_SSN"
    CATEGORY = "PII"
    PATTERNS = [("dashed", r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w.-])", 0.6),
                ("spaced", r"(?<![\w.-])\d{3} \d{2} \d{4}(?![\w.-])", 0.3),
                # ssn: 536228417, "social_security_number": "536228417": nine digits in a field named as an SSN
                ("labelled", r"(?i)(?:\bssn|social[ _-]?security(?:[ _-]?(?:no|num|number|nr))?|\bss[ _]?#|\bss[ _]?no)"
                             r"[\w\"' .#:=-]{0,16}?(?<!\d)(?P<v>\d{9})(?![\w.-])", 0.9)]
    PREFILTER = [r"\d{3}[- ]\d{2}[- ]\d{4}", r"(?i)(?:ssn|social[ _-]?security|ss[ _]?#|ss[ _]?no)[\w\"' .#:=-]{0,16}\d{9}"]
    PREFILTER_FOR = [("dashed", "spaced"), ("labelled",)]
    CONTEXT = ["ssn", "social security", "social_security", "taxpayer", "tin"]

    def validate(self, value, match, line):
        if value.isdigit():
            value = f"{value[:3]}-{value[3:5]}-{value[5:]}"
        area, group, serial = value.replace(" ", "-").split("-")
        if len(set(area + group + serial)) < 2:
            return False          # 000-00-0000, 111 11 1111: a mask, not a number
        if value.replace(" ", "-") in _FAMOUS or area in ("000", "666") or area[0] == "9" \
                or group == "00" or serial == "0000" or len(set(area + group + serial)) < 3:
            return DOC
        return None
