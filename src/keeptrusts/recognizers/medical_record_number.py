"""Medical record numbers and insurance member ids (healthcare_mode): an id right after its label."""
from .base import Recognizer


class MedicalRecordRecognizer(Recognizer):
    ENTITY = "MEDICAL_RECORD_NUMBER"
    CATEGORY = "PII"
    DEFAULT_ENABLED = False
    PATTERNS = [("labelled", r"(?i)\b(?:mrn|medical[ _]record(?:[ _]n(?:o|umber))?|patient[ _]id|member[ _]id|"
                             r"insurance[ _]id|policy[ _]number)[\"']?\s*[:=#]\s*[\"']?(?P<v>[A-Z0-9][A-Z0-9-]{5,19})\b", 0.85)]
    PREFILTER = [r"(?i)(?:mrn|medical[ _]record|patient[ _]id|member[ _]id|insurance[ _]id|policy[ _]number)"]

    def validate(self, value, match, line):
        return None if any(c.isdigit() for c in value) else False
