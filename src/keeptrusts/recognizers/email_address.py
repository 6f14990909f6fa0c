"""Email addresses, except service mailboxes and URL credentials. Addresses at documentation domains
(example.com, .test) are DOC values: masked unless the pack allows them."""
from .base import DOC, Recognizer

# RFC 2606 / 6761 names and well-known non-personal mailboxes.
_FAKE_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid", ".localhost",
                 "localhost")
_SERVICE_LOCALS = {"git", "noreply", "no-reply", "donotreply", "do-not-reply", "postmaster", "mailer-daemon",
                   "root", "nobody", "user", "username", "name", "you", "your", "someone", "foo", "bar", "test",
                   "example", "email", "me", "info"}


class EmailAddressRecognizer(Recognizer):
    ENTITY = "EMAIL_ADDRESS"
    CATEGORY = "PII"
    PATTERNS = [("email", r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b", 0.9)]
    PREFILTER = [r"[A-Za-z0-9]@[A-Za-z0-9-]+\.[A-Za-z]{2}"]

    def validate(self, value, match, line):
        local, _, domain = value.rpartition("@")
        domain = domain.lower()
        if local.lower() in _SERVICE_LOCALS:
            return False
        # user:pass@host in a URL is a credential (code-sanitation), not an address.
        head = line[max(0, match.start() - 256):match.start()]
        token_start = max(head.rfind(c) for c in " \t\"'`(<[,;=")
        if not head.lower().endswith("mailto:") and ("://" in head[token_start + 1:] or head[-1:] in (":", "/")):
            return False
        # file@2x.png, name@1.2.3 (npm), pkg@latest: not addresses.
        if domain.rsplit(".", 1)[-1] in ("png", "jpg", "svg", "gif", "js", "ts", "py", "json", "css", "md", "txt"):
            return False
        return DOC if domain.endswith(_FAKE_DOMAINS) else True
