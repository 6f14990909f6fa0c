"""IBANs: country code, check digits, the country's length, mod-97 checksum."""
from .base import DOC, Recognizer
from .checks import iban_ok

# Length per country (ISO 13616 registry, common countries).
_LENGTHS = {"AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CY": 28, "CZ": 24,
            "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18,
            "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "KW": 30, "KZ": 20, "LB": 28,
            "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
            "PL": 28, "PT": 25, "QA": 29, "RO": 24, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24,
            "TR": 26, "UA": 29}
# Sample IBANs printed in bank and ISO documentation.
_SAMPLES = {"GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606",
            "NL91ABNA0417164300", "GB29NWBK60161331926819", "CH9300762011623852957", "BE68539007547034"}


class IbanCodeRecognizer(Recognizer):
    ENTITY = "IBAN_CODE"
    CATEGORY = "PII"
    PATTERNS = [("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", 0.5)]
    PREFILTER = [r"[A-Z]{2}\d{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4}"]
    CONTEXT = ["iban", "bank", "account", "transfer", "sepa"]

    def validate(self, value, match, line):
        compact = value.replace(" ", "")
        if _LENGTHS.get(compact[:2]) != len(compact) or not iban_ok(compact):
            return False
        return DOC if compact in _SAMPLES else True
