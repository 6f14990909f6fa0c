"""IBANs: country code, check digits, the country's length, mod-97 checksum."""
from .base import DOC, Recognizer
from .checks import iban_ok

# Length per country: the SWIFT IBAN registry (every member country), plus the countries that use
# IBAN-format numbers outside it (Algeria, Angola, Benin, ..., the "experimental" list of the registry's
# national formats).
_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    # French overseas territories and others using their own code with FR's format
    "GF": 27, "GP": 27, "MQ": 27, "RE": 27, "PF": 27, "TF": 27, "YT": 27, "NC": 27, "PM": 27, "WF": 27, "BL": 27,
    "MF": 27,
    # Outside the registry, published national formats
    "DZ": 26, "AO": 25, "BJ": 28, "BF": 28, "CM": 27, "CV": 25, "CF": 27, "TD": 27, "KM": 27, "CG": 27, "CI": 28,
    "GQ": 27, "GA": 27, "GW": 25, "IR": 26, "MG": 27, "ML": 28, "MA": 28, "MZ": 25, "NE": 28, "SN": 28, "TG": 28,
}
# Sample IBANs printed in bank and ISO documentation.
_SAMPLES = {"GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606",
            "NL91ABNA0417164300", "GB29NWBK60161331926819", "CH9300762011623852957", "BE68539007547034"}


class IbanCodeRecognizer(Recognizer):
    ENTITY = "IBAN_CODE"
    CATEGORY = "PII"
    # Compact, or grouped by four with spaces or dashes, any case (iban fields typed by hand). The grouped
    # form is tried with and without a short last group, so "BE68 5390 0754 7034 EUR" is not read as one.
    PATTERNS = [
        ("compact", r"(?i)(?<![A-Za-z0-9])[A-Z]{2}\d{2}[A-Z0-9]{11,30}(?![A-Za-z0-9])", 0.5),
        ("grouped", r"(?i)(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -][A-Z0-9]{4}){2,7}(?:[ -][A-Z0-9]{1,3})?(?![A-Za-z0-9])", 0.5),
        ("grouped_whole", r"(?i)(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -][A-Z0-9]{4}){2,7}(?![A-Za-z0-9])", 0.5),
    ]
    PREFILTER = [r"[A-Za-z]{2}\d{2}[A-Za-z0-9]{11}", r"[A-Za-z]{2}\d{2}[ -][A-Za-z0-9]{4}[ -][A-Za-z0-9]{4}"]
    PREFILTER_FOR = [("compact",), ("grouped", "grouped_whole")]
    CONTEXT = ["iban", "bank", "account", "transfer", "sepa"]

    def validate(self, value, match, line):
        compact = value.replace(" ", "").replace("-", "").upper()
        if _LENGTHS.get(compact[:2]) != len(compact) or not iban_ok(compact):
            return False
        return DOC if compact in _SAMPLES else True
