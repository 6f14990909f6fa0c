"""GitLab tokens: personal/project (glpat-), deploy (gldt-), runner (glrt-), pipeline trigger (glptt-)."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class GitlabTokenRecognizer(Recognizer):
    ENTITY = "gitlab_token"
    PATTERNS = [("token", r"(?<![A-Za-z0-9])(?:glpat|gldt|glrt|glptt|glsoat|glcbt)-[0-9A-Za-z_.-]{20,}", 0.95)]
    PREFILTER = [r"(?:glpat|gldt|glrt|glptt|glsoat|glcbt)-[0-9A-Za-z_.-]{20}"]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
