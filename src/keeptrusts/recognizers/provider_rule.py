"""Provider token formats as data: one recognizer per rule of provider_rules/*.yaml.

The rules come from public scanners' rule definitions (gitleaks' config, MIT; see
provider_rules/refresh.py) and from providers' documentation (provider_rules/extra.yaml). Each rule is
a regex, its hyperscan prefilter (the same regex: all rules share the engine's one database), the
keywords one of which must be on the line (gitleaks' own gate), a minimum entropy for the value, and
the capture group that holds the value. `entity` names the type when a rule widens a format another
recognizer already names (a longer Anthropic key is still `anthropic_api_key`).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from .base import Recognizer
from .checks import char_classes, format_placeholder_verdict, looks_identifier, shannon_entropy

RULE_FILES = ("gitleaks.yaml", "extra.yaml")
_DIR = Path(__file__).parent / "provider_rules"
# gitleaks' global stopwords: values that are never secrets.
_STOPWORDS = ("abcdefghijklmnopqrstuvwxyz", "014df517-39d1-4453-b7b3-9930c563627c")
_LITERALS = {"true", "false", "null", "none", "undefined"}


@functools.lru_cache(maxsize=1)
def load_rules() -> tuple[dict, ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    rules: list[dict] = []
    seen: set[str] = set()
    for name in RULE_FILES:
        path = _DIR / name
        if not path.exists():
            continue
        doc = yaml.load(path.read_text(), Loader=loader)
        for r in doc["rules"]:
            if r["id"] in seen:      # extra.yaml may refine a gitleaks rule of the same id
                rules = [x for x in rules if x["id"] != r["id"]]
            seen.add(r["id"])
            rules.append({**r, "source": doc.get("source", name)})
    return tuple(rules)


def entity_of(rule_id: str) -> str:
    return rule_id.replace("-", "_").replace(".", "_")


def provider_rule_types() -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.get("entity") or entity_of(r["id"]) for r in load_rules()))


class ProviderRuleRecognizer(Recognizer):
    def __init__(self, rule: dict) -> None:
        self.ENTITY = rule.get("entity") or entity_of(rule["id"])
        self.PATTERNS = [(rule["id"], rule["regex"], float(rule.get("score", 0.9)))]
        # hyperscan takes no lookbehind: the prefilter drops a leading one (the Python regex keeps it).
        self.PREFILTER = [rule.get("prefilter") or rule["regex"].removeprefix("(?<![A-Za-z0-9])")]
        self.PREFILTER_CASELESS = bool(rule.get("caseless"))
        self.FLAGS = re.I if rule.get("caseless") else 0
        self.keywords = tuple(k.lower() for k in rule.get("keywords") or ())
        self.group = rule.get("group")
        self.entropy = float(rule.get("entropy", 0))
        # Assignment-shaped rules (`provider_key = value`) see more code than fixed-prefix tokens do.
        self.assignment = float(rule.get("score", 0.9)) < 0.9
        super().__init__()
        self.name = f"rule:{rule['id']}"

    def value_span(self, m: re.Match) -> tuple[int, int]:
        if self.group:
            return m.span(self.group)
        for i in range(1, (m.re.groups or 0) + 1):       # gitleaks: the first non-empty group
            if m.group(i):
                return m.span(i)
        return m.span()

    def validate(self, value, match, line):
        low = line.lower()
        if self.keywords and not any(k in low for k in self.keywords):
            return False
        if value.lower() in _LITERALS or any(w in value.lower() for w in _STOPWORDS):
            return False
        if self.entropy and shannon_entropy(value) < self.entropy:
            return False
        doc = format_placeholder_verdict(value)
        if doc is not None:
            return doc
        if self.assignment and (char_classes(value) < 2 or looks_identifier(value) and shannon_entropy(value) < 3.5):
            return False
        return None
