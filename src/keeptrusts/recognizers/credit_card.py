"""Payment card numbers: known issuer prefixes and lengths, Luhn checksum; well-known test PANs excluded."""
from .base import DOC, Recognizer
from .checks import luhn_ok

_ISSUERS = (("4", (13, 16, 19)), ("51", (16,)), ("52", (16,)), ("53", (16,)), ("54", (16,)), ("55", (16,)),
            ("22", (16,)), ("23", (16,)), ("24", (16,)), ("25", (16,)), ("26", (16,)), ("27", (16,)),
            ("34", (15,)), ("37", (15,)), ("6011", (16, 19)), ("65", (16, 19)), ("64", (16,)), ("35", (16, 19)),
            ("36", (14,)), ("30", (14,)), ("38", (14,)), ("62", (16, 17, 18, 19)))
# Published test numbers (Stripe, Braintree, PayPal docs): DOC values, masked unless the pack allows them.
_TEST_PANS = {"4111111111111111", "4242424242424242", "4012888888881881", "5555555555554444", "5105105105105100",
              "378282246310005", "371449635398431", "6011111111111117", "6011000990139424", "3530111333300000",
              "4000056655665556", "5200828282828210", "30569309025904", "38520000023237", "4000000000000002",
              "4000000000000077", "4000000000009995", "2223003122003222", "6200000000000005", "4222222222222"}


class PaymentCardRecognizer(Recognizer):
    ENTITY = "CREDIT_CARD"
    CATEGORY = "PII"
    PATTERNS = [("pan", r"(?<![\w.-])(?:\d[ -]?){12,18}\d(?![\w.-])", 0.5)]
    PREFILTER = [r"[2-6](?:\d[ -]?){12,18}\d"]
    CONTEXT = ["card", "credit", "visa", "mastercard", "amex", "pan", "cc_number", "payment"]

    def validate(self, value, match, line):
        digits = value.replace(" ", "").replace("-", "")
        if digits in _TEST_PANS:
            return DOC
        if not luhn_ok(digits) or len(set(digits)) < 4:
            return False
        if not any(digits.startswith(p) and len(digits) in lens for p, lens in _ISSUERS):
            return False
        grouped = " " in value or "-" in value
        return True if grouped else 0.8
