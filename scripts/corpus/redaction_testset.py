"""The redaction TEST set: sources and generators kept apart from the dev set the rules are tuned on.

    dev set  (scripts/eval_redaction.py TEMPLATES): values from our own generators, planted in code lines
             written for them, in chunks of this interpreter's standard library and npm's JavaScript.
    test set (this module): secret values generated from CredSweeper's rule definitions (Samsung, MIT;
             redaction_test_secret_formats.json: 69 token formats, only the rules' regexes, never its test
             samples), PII from separate generators (libphonenumber's per-country metadata for phone numbers,
             the IBAN registry lengths for every country, ipaddress for IPv6 spellings), planted with
             templates of other formats (.env, YAML, JSON, TOML, INI, Dockerfile, shell, HTTP, chat prose,
             CSV, SQL, Markdown tables) into chunks of third-party packages installed here (site-packages)
             and English prose (the Python reference's topic texts, licence texts).

Rules and recognizers are not tuned on this set: it is measured and reported, once per change.
"""
from __future__ import annotations

import ipaddress
import json
import random
import re
import sre_constants as C
import sre_parse
import string
from pathlib import Path

HERE = Path(__file__).parent
FORMATS = json.loads((HERE / "redaction_test_secret_formats.json").read_text())


# ------------------------------------------------------------------------------------------ regex sampler
def sample(regex: str, rng: random.Random, cap: int = 24) -> str:
    """A random string the regex matches (repeats capped at min + `cap`); lookarounds are ignored."""
    return _emit(sre_parse.parse(regex), rng, cap, {})


_CATS = {C.CATEGORY_DIGIT: string.digits, C.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
         C.CATEGORY_SPACE: " "}


def _emit(parsed, rng, cap, groups) -> str:
    out = []
    for op, av in parsed:
        if op is C.LITERAL:
            out.append(chr(av))
        elif op is C.ANY:
            out.append(rng.choice(string.ascii_letters + string.digits))
        elif op is C.IN:
            out.append(_pick_class(av, rng))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            hi = lo + cap if hi is C.MAXREPEAT or hi > lo + cap else hi
            out.extend(_emit(sub, rng, cap, groups) for _ in range(rng.randint(lo, hi)))
        elif op is C.BRANCH:
            out.append(_emit(rng.choice(av[1]), rng, cap, groups))
        elif op is C.SUBPATTERN:
            gid, _, _, sub = av
            text = _emit(sub, rng, cap, groups)
            if gid:
                groups[gid] = text
            out.append(text)
        elif op is C.GROUPREF:
            out.append(groups.get(av, ""))
        elif op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue
        elif op is C.NOT_LITERAL:
            out.append(rng.choice([c for c in string.ascii_letters if ord(c) != av]))
        else:
            raise ValueError(f"cannot sample {op}")
    return "".join(out)


def _pick_class(items, rng) -> str:
    chars: list[str] = []
    negate = False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            chars.append(chr(av))
        elif op is C.RANGE:
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif op is C.CATEGORY:
            chars.extend(_CATS.get(av, ""))
    if negate:
        chars = [c for c in string.ascii_letters + string.digits if c not in chars]
    return rng.choice(chars)


# ------------------------------------------------------------------------------------------ values
FIRST = ("Aaliyah Bongani Chiara Dagny Eero Folasade Gwendolyn Hamid Itzel Jovana Kenji Lorcan Maëlle Nnamdi "
         "Oksana Pavel Quentin Rasmus Saoirse Tomás Ulrike Valentina Wiremu Ximena Yusuf Zeynep Anneliese Bartholomew "
         "Cosima Desmond Evangeline Florian Giulia Hyun-woo Ifeoma Jasper Katarzyna Leopold Mireille Nikhil").split()
LAST = ("Abernathy Bergström Cavalcanti Drozdov Eriksen Fonseca Gutiérrez Hakimi Ishikawa Jovanović Kowalczyk "
        "Lindgren Mbeki Nakashima Oyelaran Pellegrino Quispe Rautenbach Szabó Takahashi Urquhart Villanueva "
        "Wojcik Xu Yamamoto Zielinski Achterberg Brennan Castellanos Dubrovnik").split()
DOMAINS = ["posteo.de", "hotmail.com", "icloud.com", "web.de", "laposte.net", "rediffmail.com", "uol.com.br",
           "yahoo.co.jp", "company-intranet.co.uk", "kliniken-nord.de", "mail.ru", "zoho.eu"]


def person(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def email(rng, name=None):
    name = (name or person(rng)).lower().replace("ë", "e").replace("é", "e").replace("á", "a").replace("ö", "o")
    first, last = re.sub(r"[^a-z]", "", name.split()[0]), re.sub(r"[^a-z]", "", name.split()[-1])
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{last}{rng.randint(1, 999)}", f"{first}_{last}"])
    return f"{local}@{rng.choice(DOMAINS)}"


def phone(rng):
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as F, PhoneNumberType as T

    while True:
        region = rng.choice(["US", "GB", "DE", "FR", "IN", "BR", "JP"])
        example = phonenumbers.example_number_for_type(region, rng.choice([T.MOBILE, T.FIXED_LINE]))
        if example is None:
            continue
        nsn = str(example.national_number)
        digits = nsn[:2] + "".join(rng.choice(string.digits) for _ in range(len(nsn) - 2))
        num = phonenumbers.parse(digits, region)
        if not phonenumbers.is_valid_number(num):
            continue
        fmt = rng.choice([F.NATIONAL, F.INTERNATIONAL, F.E164])
        return phonenumbers.format_number(num, fmt)


def luhn_card(rng):
    # Issuer ranges that exist (Mastercard 51-55, JCB 3528-3589): v1 drew "5x" and "35xx" freely (a generator bug)
    prefix, length = rng.choice([("4", 16), (str(rng.randint(51, 55)), 16), ("2720", 16), ("34", 15), ("6011", 16),
                                 (str(rng.randint(3528, 3589)), 16), ("36", 14)])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    d = body + str((10 - total % 10) % 10)
    return rng.choice([d, " ".join(d[i:i + 4] for i in range(0, len(d), 4))])


IBAN_LENGTHS = {"AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BR": 29, "CH": 21, "CR": 22, "CY": 28,
                "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
                "GE": 22, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
                "KW": 30, "KZ": 20, "LB": 28, "LT": 20, "LU": 20, "LV": 21, "MD": 24, "ME": 22, "MK": 19, "MT": 31,
                "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
                "SA": 24, "SE": 24, "SI": 19, "SK": 24, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20}


ALPHA_BANK_CODES = {"GB", "NL", "IE", "BG", "LV", "RO", "MT", "PK", "QA", "KW", "JO", "GE", "MU", "VG", "PS"}


def iban(rng):
    cc, n = rng.choice(sorted(IBAN_LENGTHS.items()))
    # Countries whose bank codes are letters (GB's WEST, NL's ABNA) get four letters first; others are digits.
    head = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) if cc in ALPHA_BANK_CODES else ""
    bban = head + "".join(rng.choice(string.digits) for _ in range(n - 4 - len(head)))
    num = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    compact = f"{cc}{98 - num % 97:02d}{bban}"
    return rng.choice([compact, " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))])


def ssn(rng):
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            return f"{a:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def ipv4(rng):
    while True:
        ip = ipaddress.IPv4Address(rng.randint(0x01000000, 0xDFFFFFFF))
        if ip.is_global and not str(ip).startswith(("192.0.2.", "198.51.100.", "203.0.113.")):
            return str(ip)


def ipv6(rng):
    while True:
        ip = ipaddress.IPv6Address((rng.choice([0x2001, 0x2400, 0x2600, 0x2a00, 0x2a02, 0x2c0f]) << 112)
                                   | rng.getrandbits(64) << (rng.choice([0, 16, 32]))
                                   | (rng.getrandbits(16) << 96))
        if ip.is_global and not str(ip).startswith("2001:db8"):
            return rng.choice([str(ip), ip.exploded, str(ip).upper()])


# ------------------------------------------------------------------------------------------ templates
def var_of(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


SECRET_TEMPLATES = [
    "{var}={v}",                                    # .env
    "  {key}: {v}",                                 # YAML
    '  "{key}": "{v}",',                            # JSON
    '{key} = "{v}"',                                # TOML
    "[auth]\n{key} = {v}",                          # INI
    "ENV {var}={v}",                                # Dockerfile
    "export {var}='{v}'",                           # shell
    "curl -H 'Authorization: Bearer {v}' https://api.internal/v2/items",
    "I set {var} to {v} but the call still returns 401, any idea why?",   # chat prose
    "$ echo ${var}\n{v}",                           # terminal output
]

PII_TEMPLATES = {
    "EMAIL_ADDRESS": ["Please forward the invoice to {v} by Friday.", "{name},{v},active", "mailto:{v}",
                      "INSERT INTO users (name, email) VALUES ('{name}', '{v}');", "| {name} | {v} | admin |"],
    "PHONE_NUMBER": ["You can reach me on {v} after 6pm.", "  phone: \"{v}\"", "{name};{v};Berlin",
                     "| {name} | {v} |", "call {v} if the pager fails"],
    "CREDIT_CARD": ["The customer paid with card {v}, expiry 09/29.", '{{"card_number": "{v}", "cvv": "381"}}'],
    "IBAN_CODE": ["Please wire the refund to IBAN {v}.", "beneficiary_iban: {v}", "{name},{v},EUR"],
    "US_SSN": ["Employee SSN {v} is on file.", "ssn,{v}", '{{"ssn": "{v}"}}'],
    "IP_ADDRESS": ["The login came from {v} at 03:12 UTC.", "client_addr={v} status=403", "  - {v}  # office VPN"],
    "PERSON": ["Yesterday {v} reviewed the pull request and approved it.", "INSERT INTO customers VALUES (17, '{v}');",
               "| {v} | Engineering | Berlin |", '{{"customer": "{v}", "tier": "gold"}}'],
}
PII_GENERATORS = {"EMAIL_ADDRESS": email, "PHONE_NUMBER": phone, "CREDIT_CARD": luhn_card, "IBAN_CODE": iban,
                  "US_SSN": ssn, "IP_ADDRESS": lambda r: ipv4(r) if r.random() < 0.5 else ipv6(r), "PERSON": person}


def secret_plants(rng, n: int):
    """(type, lines, value) for n secrets, cycling through the formats."""
    out = []
    formats = FORMATS["formats"]
    for i in range(n):
        f = formats[i % len(formats)]
        v = sample(f["value_regex"], rng)
        var = var_of(f["name"])
        line = rng.choice(SECRET_TEMPLATES).format(var=var, key=var.lower(), v=v)
        out.append(("secret:" + f["name"], line, v))
    return out


def pii_plants(rng, n: int):
    out = []
    types = sorted(PII_TEMPLATES)
    for i in range(n):
        t = types[i % len(types)]
        v = PII_GENERATORS[t](rng)
        line = rng.choice(PII_TEMPLATES[t]).format(v=v, name=person(rng))
        out.append((t, line, v))
    return out


# ------------------------------------------------------------------------------------------ carriers
def prose_chunks(rng: random.Random, n: int) -> list[str]:
    """Paragraphs of English prose: the Python reference's topic texts and the licence texts of installed packages."""
    import sysconfig
    from pydoc_data.topics import topics

    texts = list(topics.values())
    site = Path(sysconfig.get_paths()["purelib"])
    for f in sorted(site.glob("*.dist-info/LICEN[CS]E*")) + sorted(site.glob("*.dist-info/licenses/*")):
        try:
            texts.append(f.read_text("utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    paras = [p.strip() for t in texts for p in t.split("\n\n") if len(p.strip()) > 200 and "    " not in p]
    rng.shuffle(paras)
    return ["\n\n".join(paras[i:i + 3]) for i in range(0, min(len(paras), 3 * n), 3)][:n]
