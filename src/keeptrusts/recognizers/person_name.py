"""Person names where code carries them: author and copyright lines, git trailers and metadata,
`Name <email>` pairs, and string literals under person-named keys (`customer_name = "..."`).

No language model: the context names the field, the value must look like a name
(2-4 capitalised words, no code words, no organisation words). A generic `name` key also needs a
known given name first.
"""
import re

from .base import Recognizer
from .names import GIVEN_NAMES, NOT_NAME_WORDS, ORG_WORDS

# Latin letters with diacritics count (José Müller, Łukasz Żółć).
_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_LO = "a-zß-öø-ÿā-žſ"
_TOKEN = rf"(?:[{_UP}][{_LO}]?['’])?[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)?(?:-[{_UP}][{_LO}]+)?"
_PARTICLE = r"(?:van|von|de|der|den|da|di|del|della|la|le|du|dos|das|bin|al|ibn)"
_NAME = rf"(?P<v>{_TOKEN}(?: (?:[A-Z]\.|{_PARTICLE}|{_TOKEN})){{0,3}} {_TOKEN})"
_FIRST = rf"(?P<v>{_TOKEN}(?: {_TOKEN}){{0,3}})"

_AUTHOR_CTX = (r"(?:__author__|__maintainer__|__credits__|@author|\bauthor(?:s|\(s\))?|\bmaintainers?|\bcommitter|"
               r"written by|contributed by|created by|developed by|reviewed by|maintained by|ported by|"
               r"signed-off-by|co-authored-by|reported-by|tested-by|acked-by|reviewed-by|suggested-by|"
               r"thanks to|patch by|originally by|copyright(?: \(c\)| ©)?(?: \d{4}(?:\s*[-–,]\s*\d{4})*,?)?(?: by)?|"
               r"\(c\)(?: \d{4}(?:\s*[-–,]\s*\d{4})*,?)?)")
_SINGLE_KEYS = r"(?:first_?name|last_?name|given_?name|family_?name|surname|forename)"
# Keys that hold a person's name.
_PERSON_KEYS = (r"(?:full_?name|legal_?name|customer(?:_?name)?|patient(?:_?name)?|employee(?:_?name)?|"
                r"cardholder(?:_?name)?|holder_?name|author_?name|contact_?name|owner_?name|sender_?name|"
                r"recipient_?name)")
# Keys that often hold a name, and as often a UI label (a display name like "Single Interpreter").
_WEAK_KEYS = r"(?:display_?name|user_?name|owner|contact|assignee|reviewer|reporter|person|sender|recipient)"


_ORG_SUFFIX = re.compile(r",?\s*(?:Inc|Ltd|LLC|GmbH|Corp|Co\.|S\.A\.|AG\b|B\.V\.|PLC|Pty|SARL|Limited)")
# A generic `name` belongs to a person when the record around it is about people.
_PERSON_RECORD = re.compile(r"(?i)\b(?:users?|person|people|customers?|employees?|members?|contacts?|patients?|"
                            r"authors?|owners?|staff|students?|clients?|profiles?|signers?|accounts?|email|e-mail|"
                            r"phone|birth|dob|age|gender)\b")


class PersonNameRecognizer(Recognizer):
    ENTITY = "PERSON"
    CATEGORY = "PII"
    PATTERNS = [
        ("author_line", r"(?i:" + _AUTHOR_CTX + r")\s*[:=]?\s*[\[(\"']{0,2}\s*" + _NAME, 0.85),
        ("name_email", _NAME + r"\s*[<(\[]\s*[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", 0.85),
        ("person_key", r"(?i:" + _PERSON_KEYS + r")[\"']?\s*(?:=|:|=>)\s*[\"'`]" + _NAME + r"[\"'`]", 0.85),
        ("single_key", r"(?i:" + _SINGLE_KEYS + r")[\"']?\s*(?:=|:|=>)\s*[\"'`]" + _FIRST + r"[\"'`]", 0.85),
        ("name_key", r"(?i:\bname|" + _WEAK_KEYS + r")[\"']?\s*(?:=|:|=>)\s*[\"'`]" + _NAME + r"[\"'`]", 0.6),
    ]
    PREFILTER = [
        r"(?i)(?:author|maintainer|credits|committer|written by|contributed by|created by|developed by|reviewed by"
        r"|maintained by|ported by|-by:|thanks to|patch by|originally by|copyright|\(c\))",
        r"[A-Za-z\x80-\xff]\s*[<(\[]\s*[A-Za-z0-9._%+-]+@",
        r"(?i)(?:name|surname|customer|patient|employee|contact|owner|assignee|reviewer|reporter|cardholder|person|sender"
        r"|recipient)[\"']?\s*(?:=|:|=>)\s*[\"'`](?:[A-Z]|[\xc3-\xc5])",
    ]
    PREFILTER_FOR = [("author_line",), ("name_email",), ("person_key", "single_key", "name_key")]

    def validate(self, value, match, line):
        words = value.replace("’", "'").split()
        low = [w.lower().strip(".") for w in words]
        if any(w in ORG_WORDS for w in low):
            return False
        if any(w in NOT_NAME_WORDS for w in low if len(w) > 1):
            return False
        if _ORG_SUFFIX.match(line, match.end("v")):
            return False
        pattern = match.re.pattern
        near = line[max(0, match.start() - 200):match.end() + 200]
        if pattern.startswith("(?i:\\bname|") and low[0] not in GIVEN_NAMES and not _PERSON_RECORD.search(near):
            return False
        if len(words) == 1 and len(words[0]) < 3:
            return False
        return None
