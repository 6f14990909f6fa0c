#!/usr/bin/env python3
"""Redaction quality on real third-party code: recall per planted type and changes to clean code.

Corpus: chunks of ~40 lines from code none of us wrote (this interpreter's Python standard library,
JavaScript under /usr/lib/node_modules or ./node_modules). Planted chunks get one synthetic secret or
personal datum, in a realistic line for the language, at a random line; clean chunks are controls.
Controls skip chunks that carry real personal data (author/copyright lines, real email addresses):
changing those would be right, not a false positive.

Scored for keeptrusts (pii-detector then code-sanitation, default options) and for the field's
default: presidio-analyzer with all its predefined recognizers (blank spaCy pipeline: no NER model
is installed or downloaded) plus detect-secrets with all its default plugins and filters.

- recall per type: a planted value counts as caught when every character of it was redacted
  (keeptrusts: absent from the forwarded text; baseline: covered by the reported spans).
- clean chunks changed: share of controls with at least one redaction.
- collateral: planted chunks with redactions beyond the planted values (chunks whose original
  text has real personal data, such as author lines, are left out of this count).

    .venv/bin/python scripts/eval_redaction.py                 # dev and test sets, Wilson intervals per type
    .venv/bin/python scripts/eval_redaction.py --set legacy    # the old table, ours + baseline
    .venv/bin/python scripts/eval_redaction.py --planted 300 --clean 300 --no-baseline
    .venv/bin/python scripts/eval_redaction.py --json          # machine-readable
    .venv/bin/python scripts/eval_redaction.py --show-misses --show-fp
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import string
import sys
import sysconfig
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CHUNK_LINES = 40

# ----------------------------------------------------------------------------------------------
# Corpus
# ----------------------------------------------------------------------------------------------


def python_sources(heldout: bool = False) -> list[Path]:
    if heldout:   # third-party packages installed in this interpreter: code the rules were not tuned on
        root = Path(sysconfig.get_paths()["purelib"])
        return sorted(p for p in root.rglob("*.py") if "keeptrusts" not in str(p) and "/tests/" not in str(p))
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def js_sources() -> list[Path]:
    roots = [Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules"), Path("node_modules")]
    out: list[Path] = []
    for r in roots:
        if r.is_dir():
            out += sorted(p for p in r.rglob("*.js") if p.is_file() and not p.name.endswith(".min.js"))
    return out


def chunks_of(path: Path) -> list[str]:
    try:
        text = path.read_text("utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    lines = text.splitlines(keepends=True)
    out = []
    for i in range(0, len(lines), CHUNK_LINES):
        block = lines[i:i + CHUNK_LINES]
        if len(block) >= 10 and max(len(x) for x in block) < 400:   # skip minified/generated blocks
            out.append("".join(block))
    return out


# Real personal data in third-party code: such chunks are not clean controls.
REAL_PII = re.compile(r"(?i)author|copyright|\(c\)|(?:contributed|written|maintained|created|developed|ported|patch|originally) by|"
                      r"maintainer|credits|thanks to|"
                      r"signed-off-by|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}")


def sample_corpus(rng: random.Random, n_planted: int, n_clean: int,
                  heldout: bool = False) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(language, chunk) lists for planting and for clean controls, both from real files."""
    pools = {"py": python_sources(heldout)} if heldout else {"py": python_sources(), "js": js_sources()}
    pools = {k: v for k, v in pools.items() if v}
    langs = sorted(pools)

    def draw(n: int, clean: bool) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        tries = 0
        while len(out) < n and tries < n * 50:
            tries += 1
            lang = rng.choice(langs)   # random, so no template is tied to one language
            chunks = chunks_of(rng.choice(pools[lang]))
            if not chunks:
                continue
            c = rng.choice(chunks)
            if clean and REAL_PII.search(c):
                continue
            out.append((lang, c))
        return out

    return draw(n_planted, False), draw(n_clean, True)


# ----------------------------------------------------------------------------------------------
# Synthetic values (fresh random, realistic formats)
# ----------------------------------------------------------------------------------------------
ALNUM = string.ascii_letters + string.digits
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Names for planting: a list of its own (not the detector's), mixing origins.
FIRST = ("Olivia Liam Sofia Mateo Amara Kwame Ingrid Lars Yuki Haruto Priya Arjun Fatima Omar Chloe Lucas Zofia "
         "Tomasz Aoife Ciaran Leilani Keanu Svetlana Dmitri Marisol Joaquin Nadia Farid Elif Emre Thandiwe Sipho "
         "Margaret Harold Beatriz Rodrigo Annika Henrik Mei Jun Ravi Lakshmi Grace Ethan Hannah Noah Isabelle "
         "Mateus Camila Felipe Ayesha Bilal Ingrid Oskar Freya Magnus Rosa Alberto Lucia Marco").split()
LAST = ("Okafor Lindqvist Tanaka Nakamura Sharma Patel Haddad Rahman Moreau Dubois Kowalski Nowak Byrne "
        "Gallagher Kahale Ivanova Petrov Castillo Herrera Farouk Yilmaz Demir Nkosi Dlamini Whitfield Ashworth "
        "Carvalho Mendes Johansson Berg Wang Chen Iyer Menon Thompson Fischer Becker Schneider Rossi Bianchi "
        "Santos Oliveira Khan Malik Andersen Larsen Novak Horvat Garcia Martinez O'Brien MacLeod").split()


def rand(rng, chars, n):
    return "".join(rng.choice(chars) for _ in range(n))


def person(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def email_for(rng, name=None):
    name = name or person(rng)
    local = rng.choice(["{f}.{l}", "{f}{l}", "{fi}{l}", "{f}_{l}{n}"]).format(
        f=name.split()[0].lower(), l=name.split()[-1].lower().replace("'", ""), fi=name[0].lower(), n=rng.randint(1, 99))
    return f"{local}@{rng.choice(['gmail.com', 'outlook.com', 'acme-corp.io', 'proton.me', 'uni-heidelberg.de', 'fastmail.fm', 'yahoo.co.uk'])}"


def gh_classic(rng):
    body = rand(rng, ALNUM, 30)
    n = zlib.crc32(body.encode()) & 0xFFFFFFFF
    cs = ""
    while n:
        n, r = divmod(n, 62)
        cs = B62[r] + cs
    return f"gh{rng.choice('pousr')}_{body}{cs.rjust(6, '0')}"


def npm_token(rng):
    return "npm_" + gh_classic(rng)[4:]


def luhn_complete(prefix, length, rng):
    digits = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return digits + str((10 - total % 10) % 10)


def card(rng):
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15), ("6011", 16)])
    d = luhn_complete(prefix + rand(rng, string.digits, 2), length, rng)
    if length == 15:
        return rng.choice([d, f"{d[:4]} {d[4:10]} {d[10:]}"])
    return rng.choice([d, " ".join(d[i:i + 4] for i in range(0, 16, 4)), "-".join(d[i:i + 4] for i in range(0, 16, 4))])


def iban(rng):
    country, bban_len = rng.choice([("DE", 18), ("FR", 23), ("GB", 18), ("NL", 14), ("ES", 20), ("IT", 23), ("CH", 17),
                                    ("PL", 24), ("RO", 20), ("SA", 20), ("AE", 19), ("NO", 11), ("UA", 25), ("BR", 25)])
    if country in ("GB", "NL"):
        bban = rand(rng, string.ascii_uppercase, 4) + rand(rng, string.digits, bban_len - 4)
    elif country == "IT":
        bban = rng.choice(string.ascii_uppercase) + rand(rng, string.digits, bban_len - 1)
    else:
        bban = rand(rng, string.digits, bban_len)
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    compact = f"{country}{98 - num % 97:02d}{bban}"
    return rng.choice([compact, " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))])


def ssn(rng):
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            return f"{a:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone(rng):
    import phonenumbers
    while True:
        kind = rng.random()
        if kind < 0.4:
            raw = f"+1 {rng.randint(201, 989)} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"
        elif kind < 0.6:
            raw = f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        elif kind < 0.8:
            raw = f"+44 7{rng.randint(400, 999)} {rng.randint(100000, 999999)}"
        elif kind < 0.85:
            raw = f"+49 30 {rng.randint(1000000, 99999999)}"
        else:                        # national spellings: UK, DE, FR, IN, BR, JP
            region, raw = rng.choice([
                ("GB", f"07{rng.randint(400, 999)} {rng.randint(100000, 999999)}"),
                ("DE", f"0{rng.choice([30, 40, 89, 221])} {rng.randint(1000000, 9999999)}"),
                ("FR", "0" + str(rng.randint(1, 7)) + " " + " ".join(f"{rng.randint(10, 99)}" for _ in range(4))),
                ("IN", f"{rng.randint(70000, 99999)} {rng.randint(10000, 99999)}"),
                ("BR", f"({rng.randint(11, 99)}) 9{rng.randint(6000, 9999)}-{rng.randint(1000, 9999)}"),
                ("JP", f"0{rng.choice([3, 6])}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}")])
            n = phonenumbers.parse(raw, region)
            if phonenumbers.is_valid_number(n):
                return raw
            continue
        try:
            n = phonenumbers.parse(raw, "US")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            return raw


def public_ip(rng):
    import ipaddress
    if rng.random() < 0.4:           # IPv6: compressed, exploded, upper case, IPv4-mapped
        ip = ipaddress.IPv6Address((0x2a02 << 112) | (rng.getrandbits(48) << 64) | rng.getrandbits(rng.choice([16, 32, 64])))
        return rng.choice([str(ip), ip.exploded, str(ip).upper(), f"::ffff:{public_ip_v4(rng)}"])
    return public_ip_v4(rng)


def public_ip_v4(rng):
    import ipaddress
    while True:
        ip = ipaddress.IPv4Address(rng.randint(0x0B000000, 0xDF000000))
        if ip.is_global and not str(ip).startswith(("192.0.2.", "198.51.100.", "203.0.113.")):
            return str(ip)


def jwt(rng):
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()
    head = b64({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    body = b64({"sub": str(rng.randint(10 ** 6, 10 ** 9)), "name": person(rng), "iat": rng.randint(1_600_000_000, 1_800_000_000)})
    sig = base64.urlsafe_b64encode(bytes(rng.getrandbits(8) for _ in range(32))).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


def pem(rng):
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.choice([600, 900])))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    kind = rng.choice(["RSA ", "EC ", "", "OPENSSH "])
    return f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines) + f"\n-----END {kind}PRIVATE KEY-----"


def password(rng):
    words = ["Summer", "Winter", "Falcon", "Orange", "Dragon", "Monkey", "Tiger", "Purple", "Silver", "Rocket"]
    return rng.choice([
        f"{rng.choice(words)}{rng.randint(1990, 2030)}{rng.choice('!@#$%&*')}",
        rand(rng, ALNUM + "!@#%^&*", rng.randint(10, 20)),
        f"{rng.choice(words).lower()}{rng.choice('_.-')}{rand(rng, string.digits, 3)}{rng.choice(words)}",
    ])


def hexs(rng, n):
    return rand(rng, "0123456789abcdef", n)


# ----------------------------------------------------------------------------------------------
# Plant templates: (type, lines builder) -> list of lines (relative indent) and the planted values.
# ----------------------------------------------------------------------------------------------
@dataclass
class Plant:
    lines: list[str]
    values: list[tuple[str, str]]   # (type, value)


def T(type_, fmt_py, fmt_js, gen):
    """A one-value template; fmt strings take {v}."""
    def build(rng, lang):
        v = gen(rng)
        fmt = fmt_py if lang == "py" else fmt_js
        fmt = rng.choice(fmt) if isinstance(fmt, (list, tuple)) else fmt
        return Plant(fmt.format(v=v).split("\n"), [(type_, v)])
    build.type_ = type_
    return build


def _aws_secret(rng):
    return rand(rng, string.ascii_letters + string.digits + "/+", 40)


TEMPLATES = [
    T("aws_access_key_id", ['AWS_ACCESS_KEY_ID = "{v}"', 'session = boto3.Session(aws_access_key_id="{v}")'],
      ["const accessKeyId = '{v}';", "config.update({{ accessKeyId: '{v}' }});"],
      lambda r: rng_choice(r, ["AKIA", "ASIA"]) + rand(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
    T("aws_secret_access_key", ['AWS_SECRET_ACCESS_KEY = "{v}"', 'client = boto3.client("s3", aws_secret_access_key="{v}")'],
      ["const secretAccessKey = '{v}';", "  secretAccessKey: \"{v}\","], _aws_secret),
    T("github_token", ['GITHUB_TOKEN = "{v}"', 'headers = {{"Authorization": "token {v}"}}'],
      ["const token = '{v}';", "octokit = new Octokit({{ auth: \"{v}\" }});"], gh_classic),
    T("github_token", ['gh = Github("{v}")'], ["const gh = new GitHub('{v}');"],
      lambda r: f"github_pat_{rand(r, ALNUM, 22)}_{rand(r, ALNUM, 59)}"),
    T("openai_api_key", ['client = OpenAI(api_key="{v}")'], ["const openai = new OpenAI({{ apiKey: '{v}' }});"],
      lambda r: f"sk-proj-{rand(r, ALNUM + '_-', 74)}T3BlbkFJ{rand(r, ALNUM + '_-', 74)}"),
    T("anthropic_api_key", ['client = anthropic.Anthropic(api_key="{v}")'], ["const anthropic = new Anthropic({{ apiKey: '{v}' }});"],
      lambda r: f"sk-ant-api03-{rand(r, ALNUM + '_-', 93)}AA"),
    T("slack_token", ['slack = WebClient(token="{v}")'], ["const web = new WebClient('{v}');"],
      lambda r: f"xoxb-{rand(r, string.digits, 12)}-{rand(r, string.digits, 13)}-{rand(r, ALNUM, 24)}"),
    T("slack_token", ['WEBHOOK = "{v}"'], ["const hook = '{v}';"],
      lambda r: f"https://hooks.slack.com/services/T{rand(r, string.ascii_uppercase + string.digits, 8)}/B{rand(r, string.ascii_uppercase + string.digits, 10)}/{rand(r, ALNUM, 24)}"),
    T("stripe_api_key", ['stripe.api_key = "{v}"'], ["const stripe = require('stripe')('{v}');"],
      lambda r: f"sk_live_{rand(r, ALNUM, 24)}"),
    T("google_api_key", ['GOOGLE_API_KEY = "{v}"', 'url = f"https://maps.googleapis.com/maps/api/geocode/json?key={v}"'],
      ["const firebaseConfig = {{ apiKey: \"{v}\" }};"], lambda r: "AIza" + rand(r, ALNUM + "_-", 35)),
    T("npm_token", ['NPM_TOKEN = "{v}"'], ["// //registry.npmjs.org/:_authToken={v}"], npm_token),
    T("gitlab_token", ['gl = gitlab.Gitlab(url, private_token="{v}")'], ["const api = new Gitlab({{ token: '{v}' }});"],
      lambda r: "glpat-" + rand(r, ALNUM + "_-", 20)),
    T("sendgrid_api_key", ['sg = SendGridAPIClient("{v}")'], ["sgMail.setApiKey('{v}');"],
      lambda r: f"SG.{rand(r, ALNUM + '_-', 22)}.{rand(r, ALNUM + '_-', 43)}"),
    T("huggingface_token", ['login(token="{v}")'], ["const hf = new HfInference('{v}');"],
      lambda r: "hf_" + rand(r, string.ascii_letters, 34)),
    T("twilio_api_key", ['client = Client("{v}", api_secret)'], ["const client = twilio('{v}', apiSecret);"],
      lambda r: "SK" + hexs(r, 32)),
    T("azure_key", ['CONN = "DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey={v};EndpointSuffix=core.windows.net"'],
      ["const conn = 'DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey={v};EndpointSuffix=core.windows.net';"],
      lambda r: base64.b64encode(bytes(r.getrandbits(8) for _ in range(64))).decode()),
    T("jwt", ['headers["Authorization"] = "Bearer {v}"', 'TOKEN = "{v}"'], ["const token = '{v}';"], jwt),
    T("private_key", ['KEY = """{v}"""'], ["const key = `{v}`;"], pem),
    T("password_in_url", ['DATABASE_URL = "postgresql://app_user:{v}@db.prod.internal:5432/orders"',
                          'engine = create_engine("mysql+pymysql://admin:{v}@10.0.3.7/shop")',
                          'r = redis.from_url("redis://:{v}@cache.internal:6379/0")'],
      ["const uri = 'mongodb+srv://svc:{v}@cluster0.abcde.mongodb.net/app';",
       "amqp.connect('amqp://worker:{v}@rabbit.internal:5672');"], password),
    T("password_in_url", ['CONN = "Server=sql01;Database=crm;User Id=sa;Password={v};"'],
      ["const cs = 'Server=sql01;Database=crm;User Id=sa;Password={v};';"],
      lambda r: rand(r, ALNUM + "!#%^*", 14)),
    T("password_in_url", ['subprocess.run("mysql -u root -p{v} shop < dump.sql", shell=True)',
                          '# deploy: curl -u deploy:{v} https://artifacts.internal/upload'],
      ["execSync(`mysql -u root -p{v} shop`);", "// curl -u ci:{v} https://nexus.internal/repo"],
      lambda r: rand(r, ALNUM + "!#%^*", 14)),
    T("github_token", ['os.system("export GITHUB_TOKEN={v} && gh pr list")'], ["// export GITHUB_TOKEN={v}"], gh_classic),
    T("url_query_secret", ['resp = requests.get("https://api.weather.io/v2/forecast?city=Oslo&api_key={v}")'],
      ["fetch(`https://files.blob.core.windows.net/c/report.pdf?sv=2022-11-02&se=2026-12-01&sig={v}`);"],
      lambda r: rand(r, ALNUM, 32)),
    T("secret_assignment", ['password = "{v}"', 'conn = psycopg2.connect(host=h, user="app", password="{v}")',
                            'DB_PASSWORD = "{v}"'],
      ["const password = '{v}';", "  password: \"{v}\","], password),
    T("secret_assignment", ['API_KEY = "{v}"', 'client_secret = "{v}"', 'self.secret_key = "{v}"'],
      ["const apiKey = '{v}';", "  clientSecret: '{v}',"], lambda r: rand(r, ALNUM, rng_int(r, 24, 40))),
    T("secret_assignment", ["# .env\nDB_PASSWORD={v}\nDEBUG=false"], ["# .env\nAPI_SECRET={v}\nPORT=3000"],
      lambda r: rand(r, ALNUM + "_-", 24)),
    T("secret_assignment", ["# config.yaml\ndatabase:\n  password: {v}"], ["# config.yaml\nauth:\n  client_secret: {v}"],
      lambda r: rand(r, ALNUM + "!%^*", 18)),
    # secrets in chat prose and under names that only say "key" (vendor formats we have no rule for)
    T("secret_assignment", ["# my {n} key is {{v}}, why does the request fail?".format(n="API"),
                            "SERVICE_KEY={v}", "  signing_key: {v}"],
      ["// I set the token to {v} and it still returns 401", "const WEBHOOK_KEY = '{v}';"],
      lambda r: rng_choice(r, ["vnd_", "live-", "pk1.", ""]) + rand(r, ALNUM, rng_int(r, 28, 44))),
    T("bearer_token", ['requests.get(url, headers={{"Authorization": "Bearer {v}"}})'],
      ["fetch(url, {{ headers: {{ Authorization: `Bearer {v}` }} }});"], lambda r: rand(r, ALNUM + "._-", 40)),
    # --- personal data
    T("EMAIL_ADDRESS", ['ADMINS = [("Ops", "{v}")]', 'send_mail(subject, body, to=["{v}"])'],
      ["const to = '{v}';", "mailer.send({{ to: \"{v}\" }});"], email_for),
    T("PHONE_NUMBER", ['SUPPORT_PHONE = "{v}"', '# call {v} for the on-call engineer'],
      ["const phone = '{v}';", "// on-call: {v}"], phone),
    T("CREDIT_CARD", ['card_number = "{v}"', 'charge(card="{v}", cvc="123")'],
      ["const cardNumber = '{v}';"], card),
    T("IBAN_CODE", ['iban = "{v}"', 'payout(account="{v}")'], ["const iban = '{v}';"], iban),
    T("US_SSN", ['ssn = "{v}"', 'employee = {{"ssn": "{v}"}}'], ["const ssn = '{v}';"], ssn),
    T("IP_ADDRESS", ['ALLOWED_HOSTS = ["{v}"]', 'client_ip = "{v}"', '# blocked {v} after abuse report'],
      ["const serverIp = '{v}';", "// seen from {v}"], public_ip),
    T("PERSON", ['__author__ = "{v}"', '# Author: {v}', '# Copyright (c) 2021 {v}'],
      [" * @author {v}", "// Written by {v}"], person),
    T("PERSON", ['customer_name = "{v}"', 'user = User(full_name="{v}")'],
      ["const customerName = '{v}';", "  fullName: '{v}',"], person),
    T("PERSON", ['user = {{"name": "{v}", "role": "admin"}}'], ["const user = {{ name: '{v}', role: 'admin' }};"], person),
]


def rng_choice(r, xs):
    return r.choice(xs)


def rng_int(r, a, b):
    return r.randint(a, b)


def trailer_plant(rng, lang):
    """Git metadata in a comment: name and email together."""
    name = person(rng)
    mail = email_for(rng, name)
    c = "#" if lang == "py" else "//"
    line = rng.choice([f"{c} Signed-off-by: {name} <{mail}>", f"{c} Co-authored-by: {name} <{mail}>",
                       f"{c} Author: {name} <{mail}>"])
    return Plant([line], [("PERSON", name), ("EMAIL_ADDRESS", mail)])


trailer_plant.type_ = "PERSON+EMAIL_ADDRESS"
TEMPLATES.append(trailer_plant)


def plant(rng: random.Random, lang: str, chunk: str, template) -> tuple[str, list[tuple[str, str]]]:
    p = template(rng, lang)
    lines = chunk.splitlines(keepends=True)
    at = rng.randint(0, len(lines))
    ref = lines[at] if at < len(lines) else (lines[-1] if lines else "")
    indent = re.match(r"[ \t]*", ref).group(0)
    new = [indent + pl + "\n" for pl in p.lines]
    return "".join(lines[:at] + new + lines[at:]), p.values


# ----------------------------------------------------------------------------------------------
# Systems under test
# ----------------------------------------------------------------------------------------------
class Keeptrusts:
    name = "keeptrusts"

    def __init__(self):
        from keeptrusts.policies.base import PolicyContext
        from keeptrusts.policies.code_sanitation import CodeSanitation
        from keeptrusts.policies.pii_detector import PiiDetector
        from keeptrusts.redaction import Redactor

        ctx = PolicyContext(redactor=Redactor(b"eval" * 8))
        self.policies = [PiiDetector({}, ctx), CodeSanitation({}, ctx)]

    def redact(self, text: str, lang: str) -> tuple[str, int]:
        n = 0
        for p in self.policies:
            res = p.scan(text, "tool_output")
            n += sum(1 for f in res.findings if f.placeholder)
            text = res.text
        return text, n

    def caught(self, original: str, out: str, value: str) -> bool:
        return value not in out


class Baseline:
    """presidio-analyzer (all predefined recognizers) + detect-secrets (all default plugins and filters)."""

    name = "presidio+detect-secrets"

    def __init__(self):
        import spacy
        import tldextract.tldextract as tx
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        tx.TLD_EXTRACTOR = tx.TLDExtract(suffix_list_urls=(), cache_dir=None)   # bundled snapshot, no network
        nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
        nlp.nlp = {"en": spacy.blank("en")}                                      # no model download
        registry = RecognizerRegistry()
        registry.load_predefined_recognizers(nlp_engine=nlp)
        self.analyzer = AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])
        self.tmp = tempfile.mkdtemp(prefix="kt-eval-")

    def spans(self, text: str, lang: str) -> list[tuple[int, int]]:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings

        spans = [(r.start, r.end) for r in self.analyzer.analyze(text=text, language="en")]
        path = os.path.join(self.tmp, "chunk." + lang)
        with open(path, "w") as f:
            f.write(text)
        with default_settings():
            coll = SecretsCollection()
            coll.scan_file(path)
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        for secrets in coll.data.values():
            for s in secrets:
                if not s.secret_value or s.line_number - 1 >= len(line_starts):
                    continue
                ls = line_starts[s.line_number - 1]
                le = text.find("\n", ls)
                line = text[ls:le if le >= 0 else len(text)]
                for m in re.finditer(re.escape(s.secret_value), line):
                    spans.append((ls + m.start(), ls + m.end()))
        return spans

    def redact(self, text: str, lang: str):
        spans = self.spans(text, lang)
        return spans, len(spans)

    def caught(self, original: str, spans, value: str) -> bool:
        covered = set()
        for a, b in spans:
            covered.update(range(a, b))
        start = 0
        ok = True
        found = False
        while True:
            i = original.find(value, start)
            if i < 0:
                break
            found = True
            ok &= all(k in covered for k in range(i, i + len(value)))
            start = i + 1
        return found and ok


# ----------------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------------
@dataclass
class Score:
    planted: dict[str, int] = field(default_factory=dict)
    caught: dict[str, int] = field(default_factory=dict)
    clean: int = 0
    clean_changed: int = 0
    planted_chunks: int = 0
    collateral_chunks: int = 0
    seconds: float = 0.0
    misses: list = field(default_factory=list)
    false_positives: list = field(default_factory=list)

    def recall(self, t):
        return self.caught.get(t, 0) / self.planted[t] if self.planted.get(t) else None

    def as_dict(self):
        return {"recall": {t: round(self.recall(t), 4) for t in sorted(self.planted)},
                "planted": dict(sorted(self.planted.items())), "caught": dict(sorted(self.caught.items())),
                "clean_chunks": self.clean, "clean_changed": self.clean_changed,
                "clean_changed_share": round(self.clean_changed / self.clean, 4) if self.clean else None,
                "planted_chunks": self.planted_chunks, "planted_chunks_with_collateral": self.collateral_chunks,
                "seconds": round(self.seconds, 2)}


SECRET_TYPES = {"aws_access_key_id", "aws_secret_access_key", "github_token", "openai_api_key", "anthropic_api_key",
                "slack_token", "stripe_api_key", "google_api_key", "npm_token", "gitlab_token", "sendgrid_api_key",
                "huggingface_token", "twilio_api_key", "azure_key", "jwt", "private_key", "password_in_url",
                "secret_assignment", "bearer_token", "url_query_secret"}


def build_cases(seed: int, n_planted: int, n_clean: int, heldout: bool = False):
    rng = random.Random(seed)
    planted_src, clean = sample_corpus(rng, n_planted, n_clean, heldout)
    cases = []
    for i, (lang, chunk) in enumerate(planted_src):
        tmpl = TEMPLATES[i % len(TEMPLATES)]
        text, values = plant(rng, lang, chunk, tmpl)
        cases.append((lang, chunk, text, values))
    return cases, clean


def evaluate(system, cases, clean, keep_examples: int = 20) -> Score:
    sc = Score()
    t0 = time.perf_counter()
    for lang, chunk, text, values in cases:
        out, n = system.redact(text, lang)
        sc.planted_chunks += 1
        hit_all = 0
        for type_, value in values:
            sc.planted[type_] = sc.planted.get(type_, 0) + 1
            if system.caught(text, out, value):
                sc.caught[type_] = sc.caught.get(type_, 0) + 1
                hit_all += 1
            elif len(sc.misses) < keep_examples * 5:
                line = next((l for l in text.splitlines() if value.split("\n")[0] in l), "")
                sc.misses.append({"type": type_, "line": line.strip()[:200]})
        # Extra redactions, where the chunk had no real personal data of its own (author lines, emails).
        if n > len(values) and not REAL_PII.search(chunk):
            sc.collateral_chunks += 1
    for lang, chunk in clean:
        out, n = system.redact(chunk, lang)
        sc.clean += 1
        if n:
            sc.clean_changed += 1
            if len(sc.false_positives) < keep_examples:
                sc.false_positives.append(_fp_example(system, chunk, out))
    sc.seconds = time.perf_counter() - t0
    return sc


def _fp_example(system, chunk, out):
    if isinstance(out, str):
        a, b = chunk.splitlines(), out.splitlines()
        return [f"{x.strip()[:160]}  ->  {y.strip()[:160]}" for x, y in zip(a, b) if x != y][:3]
    return sorted({chunk[max(0, s - 30):e + 10].replace("\n", "\\n") for s, e in out})[:3]


def report(results: dict[str, Score], show_misses: bool, show_fp: bool) -> str:
    types = sorted({t for s in results.values() for t in s.planted}, key=lambda t: (t not in SECRET_TYPES, t))
    names = list(results)
    out = [f"{'type':<24}" + "".join(f"{n:>26}" for n in names)]
    for t in types:
        row = f"{t:<24}"
        for n in names:
            s = results[n]
            row += f"{s.caught.get(t, 0):>10}/{s.planted[t]:<4} {100 * s.recall(t):6.1f}%    "
        out.append(row)
    for label, pick in (("secrets (all)", lambda t: t in SECRET_TYPES), ("PII (all)", lambda t: t not in SECRET_TYPES)):
        row = f"{label:<24}"
        for n in names:
            s = results[n]
            p = sum(v for t, v in s.planted.items() if pick(t))
            c = sum(v for t, v in s.caught.items() if pick(t))
            row += f"{c:>10}/{p:<4} {100 * c / p if p else 0:6.1f}%    "
        out.append(row)
    row = f"{'clean chunks changed':<24}"
    for n in names:
        s = results[n]
        row += f"{s.clean_changed:>10}/{s.clean:<4} {100 * s.clean_changed / max(s.clean, 1):6.1f}%    "
    out.append(row)
    row = f"{'planted w/ collateral':<24}"
    for n in names:
        s = results[n]
        row += f"{s.collateral_chunks:>10}/{s.planted_chunks:<4} {100 * s.collateral_chunks / max(s.planted_chunks, 1):6.1f}%    "
    out.append(row)
    out.append(f"{'seconds':<24}" + "".join(f"{results[n].seconds:>17.1f}         " for n in names))
    for n in names:
        s = results[n]
        if show_misses and s.misses:
            out.append(f"\n{n}: misses (first {len(s.misses)})")
            out += [f"  {m['type']}: {m['line']}" for m in s.misses]
        if show_fp and s.false_positives:
            out.append(f"\n{n}: changed clean chunks (first {len(s.false_positives)})")
            out += [f"  {x}" for ex in s.false_positives for x in ex]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# Dev set and test set (issue 16): different sources, both reported, with Wilson intervals
# ----------------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval for k successes out of n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / d
    return (max(0.0, centre - half), min(1.0, centre + half))


def build_test_cases(seed: int, n_secret: int, n_pii: int, n_clean: int):
    """The test set: CredSweeper-defined token formats and separately generated PII, planted with other
    templates into third-party site-packages code and English prose (scripts/corpus/redaction_testset.py)."""
    sys.path.insert(0, str(Path(__file__).parent / "corpus"))
    import redaction_testset as ts

    rng = random.Random(seed + 16_000)
    code = [c for p in rng.sample(python_sources(heldout=True), 4000) for c in chunks_of(p)[:2]]
    prose = ts.prose_chunks(rng, 400)
    plants = ts.secret_plants(rng, n_secret) + ts.pii_plants(rng, n_pii)
    cases = []
    for type_, line, value in plants:
        kind, pool = ("prose", prose) if rng.random() < 0.5 else ("py", code)
        chunk = rng.choice(pool)
        lines = chunk.splitlines(keepends=True)
        at = rng.randint(0, len(lines))
        text = "".join(lines[:at] + [line + "\n"] + lines[at:])
        cases.append((kind, chunk, text, [(type_, value)]))
    clean = [("py", c) for c in rng.sample(code, min(len(code), n_clean // 2)) if not REAL_PII.search(c)]
    clean += [("prose", c) for c in prose if not REAL_PII.search(c)][:n_clean - len(clean)]
    return cases, clean


def interval_report(title: str, sc: Score, group_secrets: bool) -> list[str]:
    out = [f"\n{title}", f"  {'type':<30}{'caught':>12}{'rate':>9}   95% Wilson"]
    planted, caught = dict(sc.planted), dict(sc.caught)
    if group_secrets:       # test-set secrets are named after CredSweeper's formats: one row for all of them
        for d in (planted, caught):
            n = sum(v for t, v in d.items() if t.startswith("secret:"))
            for t in [t for t in d if t.startswith("secret:")]:
                del d[t]
            if n:
                d["secrets (69 token formats)"] = n
    for t in sorted(planted, key=lambda t: (not t.startswith("secret") and t not in SECRET_TYPES, t)):
        k, n = caught.get(t, 0), planted[t]
        lo, hi = wilson(k, n)
        out.append(f"  {t:<30}{k:>6}/{n:<5}{100 * k / n:8.1f}%   [{100 * lo:5.1f}, {100 * hi:5.1f}]")
    lo, hi = wilson(sc.clean_changed, sc.clean)
    out.append(f"  {'benign chunks changed':<30}{sc.clean_changed:>6}/{sc.clean:<5}"
               f"{100 * sc.clean_changed / max(sc.clean, 1):8.1f}%   [{100 * lo:5.1f}, {100 * hi:5.1f}]")
    return out


def interval_dict(sc: Score) -> dict:
    rows = {t: {"caught": sc.caught.get(t, 0), "n": n, "rate": round(sc.caught.get(t, 0) / n, 4),
                "wilson95": [round(x, 4) for x in wilson(sc.caught.get(t, 0), n)]} for t, n in sorted(sc.planted.items())}
    return {"types": rows, "benign_changed": {"k": sc.clean_changed, "n": sc.clean,
                                              "wilson95": [round(x, 4) for x in wilson(sc.clean_changed, sc.clean)]}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--planted", type=int, default=1400, help="planted chunks (spread over all templates)")
    ap.add_argument("--clean", type=int, default=1000, help="clean control chunks")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-baseline", action="store_true", help="score keeptrusts only")
    ap.add_argument("--heldout", action="store_true",
                    help="use the interpreter's site-packages (third-party Python the rules were not tuned on)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--show-fp", action="store_true")
    ap.add_argument("--set", choices=("dev", "test", "both", "legacy"), default="both",
                    help="dev: what the rules are tuned on; test: other sources, never tuned on; legacy: the old table")
    ap.add_argument("--test-secrets", type=int, default=1380, help="test set: planted secrets (20 per format)")
    ap.add_argument("--test-pii", type=int, default=1400, help="test set: planted personal data (200 per type)")
    args = ap.parse_args(argv)
    if args.set != "legacy":
        return run_sets(args)
    cases, clean = build_cases(args.seed, args.planted, args.clean, args.heldout)
    results = {"keeptrusts": evaluate(Keeptrusts(), cases, clean)}
    if not args.no_baseline:
        results["presidio+detect-secrets"] = evaluate(Baseline(), cases, clean)
    if args.json:
        print(json.dumps({n: s.as_dict() for n, s in results.items()}, indent=2))
    else:
        langs = {}
        for lang, *_ in cases:
            langs[lang] = langs.get(lang, 0) + 1
        print(f"corpus ({'held-out site-packages' if args.heldout else 'stdlib + npm'}): {len(cases)} planted chunks {langs}, {len(clean)} clean chunks, {CHUNK_LINES} lines each, seed {args.seed}")
        print(report(results, args.show_misses, args.show_fp))
    return 0


def run_sets(args) -> int:
    sets = {}
    if args.set in ("dev", "both"):
        sets["dev"] = build_cases(args.seed, args.planted, args.clean)
    if args.set in ("test", "both"):
        sets["test"] = build_test_cases(args.seed, args.test_secrets, args.test_pii, args.clean)
    results = {name: evaluate(Keeptrusts(), *data) for name, data in sets.items()}
    if args.json:
        print(json.dumps({n: interval_dict(s) for n, s in results.items()}, indent=2))
        return 0
    titles = {"dev": "DEV set (tuned on): our generators and code templates in stdlib + npm chunks",
              "test": "TEST set (never tuned on): CredSweeper token formats and separate PII generators, other "
                      "templates, in site-packages code and English prose"}
    for name, sc in results.items():
        print("\n".join(interval_report(f"{titles[name]}  [{sc.seconds:.1f} s]", sc, name == "test")))
        if args.show_misses and sc.misses:
            print(f"  misses (first {len(sc.misses)}):")
            for m in sc.misses:
                print(f"    {m['type']}: {m['line']}")
        if args.show_fp and sc.false_positives:
            print("  changed benign chunks:")
            for ex in sc.false_positives:
                for x in ex:
                    print(f"    {x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
