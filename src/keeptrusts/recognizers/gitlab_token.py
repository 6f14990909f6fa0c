"""GitLab tokens: personal/project (glpat-), deploy (gldt-), runner (glrt-), pipeline trigger (glptt-)."""
from .base import Recognizer
from .checks import looks_placeholder


class GitlabTokenRecognizer(Recognizer):
    ENTITY = "gitlab_token"
    PATTERNS = [("token", r"\b(?:glpat|gldt|glrt|glptt|glsoat|glcbt)-[0-9A-Za-z_.-]{20,}", 0.95)]
    PREFILTER = [r"(?:glpat|gldt|glrt|glptt|glsoat|glcbt)-[0-9A-Za-z_.-]{20}"]

    def validate(self, value, match, line):
        return False if looks_placeholder(value) else None
