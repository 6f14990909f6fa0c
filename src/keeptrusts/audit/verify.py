"""`kt audit verify`: recompute the chain and report the first row where it breaks.

Detects: an edited row (its hash no longer matches), deleted rows (a gap in `seq`, or a
`prev_hash` naming a row that is gone), inserted or reordered rows (`prev_hash` does not name the
row before), an edited or missing history item (its SHA-256 no longer matches its key, or a row
references an item that is gone), rows cut from the end (`sqlite_sequence` is ahead of the last
row), and a broken archive seal. A chain may start after GENESIS only where an anchor row (written
by `kt audit rotate`) or an archive seal says so.

The signed head beside the database (head.py) catches what the rows alone cannot: a tail cut with
`sqlite_sequence` rewound to match, a chain rewritten wholesale (re-keyed, or recomputed with plain
SHA-256), and a database replaced by another file. A verifier that holds the audit key expects a head
for every database it did not open as explicitly unkeyed (`KEEPTRUSTS_AUDIT_HMAC_KEY=""`): "no head"
cannot be told apart from "head deleted to hide a rewrite".

Every problem has a `kind` (`EXIT_CODES` maps it to `kt audit verify`'s exit status):
edited_row, reordered, missing_range, truncated_tail, edited_item, missing_item, rewritten, replaced,
head_missing, head_forged, broken_seal, not_audit_db, and across archives missing_archive and
broken_link (all exit 1); wrong_key, missing_key
(exit 3: this key cannot check it; raised as KeyProblem).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import paths
from . import head as head_mod
from . import store
from .items import CHUNK_PREFIX
from .chain import GENESIS, canonical, item_hash, key_id, resolve_key, row_hash

DEFAULT_KEY = object()     # verify(key=...) default: KEEPTRUSTS_AUDIT_HMAC_KEY, else the state dir's key file
EXIT_OK, EXIT_BROKEN, EXIT_KEY = 0, 1, 3


@dataclass
class Problem:
    seq: int | None
    id: str | None
    problem: str
    kind: str = "edited_row"


@dataclass
class VerifyResult:
    ok: bool
    db: str
    rows: int = 0
    items: int = 0
    hash_alg: str | None = None
    archive: bool = False
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    head_seq: int | None = None       # the signed head's seq, when one was checked
    error: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_BROKEN

    def to_dict(self) -> dict:
        d = asdict(self)
        return d

    def render(self) -> str:
        if self.ok:
            kind = "archive " if self.archive else ""
            rng = f" (seq {self.first_seq}..{self.last_seq}, head {self.last_hash[:16]})" if self.rows else ""
            signed = ", signed head matches" if self.head_seq is not None else ""
            return f"OK {self.rows} rows, {self.items} items verified in {kind}{self.db} [{self.hash_alg}{signed}]{rng}"
        e = self.error
        where = f"row seq {e.seq}" + (f" ({e.id})" if e.id else "") if e.seq is not None else "database"
        return f"BROKEN {self.db}: {where}: {e.problem} [{e.kind}] ({self.rows} rows verified before it)"


class KeyProblem(Exception):
    """This key cannot check the chain (none given for a keyed chain, or another key)."""

    def __init__(self, message: str, kind: str = "wrong_key"):
        super().__init__(message)
        self.kind = kind
        self.exit_code = EXIT_KEY


def seal_hash(seal: dict, key: bytes | None) -> str:
    return row_hash(GENESIS, {"seal": seal}, key)


def verify(db_path: str | Path, key=DEFAULT_KEY, *, check_head: bool = True,
           head_path: str | Path | None = None) -> VerifyResult:
    """Verify one database (or archive). `key`: bytes, None/b"" (no key: an unkeyed chain without a
    signed head is accepted), or by default the installation's key. `check_head` False skips the
    signed head (a copy verified away from its head file); the result then says so in `notes`."""
    db_path = Path(db_path)
    source = "argument"
    if key is DEFAULT_KEY:
        key, source = resolve_key(create=False)
    key = key or None
    res = VerifyResult(ok=False, db=str(db_path))
    # The head is read before the database snapshot: the writer signs a head only after its commit, so a
    # head read first can never be ahead of the rows the snapshot then sees.
    head_file = Path(head_path) if head_path else paths.audit_head(db_path)
    found = head_mod.read(head_file, key) if (key and check_head) else None
    conn = store.connect(db_path, readonly=True)
    conn.isolation_level = None
    try:
        # One read transaction: a consistent snapshot while the gateway keeps appending
        # (rows committed after the items scan would otherwise look like they lack items).
        conn.execute("BEGIN")
        return _verify(conn, res, key, found, head_file, check_head, source)
    finally:
        conn.close()


def _verify(conn: sqlite3.Connection, res: VerifyResult, key: bytes | None, found: "head_mod.HeadRead | None",
            head_file: Path, check_head: bool, source: str) -> VerifyResult:
    m = store.meta(conn)
    res.hash_alg = m.get("hash_alg")
    res.archive = "seal" in m

    def broken(seq, id_, problem, kind) -> VerifyResult:
        res.error = Problem(seq, id_, problem, kind)
        return res

    if not m:
        return broken(None, None, "not a keeptrusts audit database (no meta table)", "not_audit_db")
    signed_ok = found is not None and found.status == "ok" and not res.archive
    if res.hash_alg == "hmac-sha256":
        if not key:
            raise KeyProblem(f"{res.db} is chained with an HMAC key (id {m.get('key_id')}): "
                             "set KEEPTRUSTS_AUDIT_HMAC_KEY to that key (or KEEPTRUSTS_HOME to the state dir "
                             "holding audit-hmac.key) to verify it", "missing_key")
        if key_id(key) != m.get("key_id"):
            if signed_ok:
                # Our key signed this database's head, yet its rows claim another key: they were rewritten.
                return broken(None, None, f"the chain was rewritten with another key (rows claim key id "
                                          f"{m.get('key_id')}, the signed head was made with key id {key_id(key)})",
                              "rewritten")
            raise KeyProblem(f"{res.db} was chained with HMAC key id {m.get('key_id')}, but the key given "
                             f"({_key_where(source)}) has id {key_id(key)}: use the original key", "wrong_key")
    elif key and not res.archive:
        res.notes.append("this chain is unkeyed (sha256, from before keyed-by-default); only its signed head "
                         "protects it")
    chain_key = key if res.hash_alg == "hmac-sha256" else None

    # Items: every stored body must still hash to its key.
    good_items: set[str] = set()
    for h, body in conn.execute("SELECT hash, body FROM items"):
        if item_hash(body) != h:
            return broken(_first_user_of(conn, h), None, f"history item {h[:16]} was edited "
                                                          "(its content no longer matches its hash)", "edited_item")
        good_items.add(h)
    res.items = len(good_items)

    # Where the chain may start: GENESIS, an archive's recorded start, or a rotation anchor.
    starts: dict[int, str] = {}
    if res.archive:
        seal = json.loads(m["seal"])
        starts[seal["first_seq"] - 1] = seal["starts_after_hash"]
    for (extra,) in conn.execute("SELECT extra FROM events WHERE event_type = 'anchor'"):
        try:
            a = json.loads(extra)
            starts[int(a["archived_through_seq"])] = a["archive_last_hash"]
        except (TypeError, ValueError, KeyError):
            continue

    checked_chunks: set[str] = set()
    cols = ", ".join(store.COLUMN_NAMES)
    prev_seq, prev_hash = None, None
    for values in conn.execute(f"SELECT {cols} FROM events ORDER BY seq"):
        row = dict(zip(store.COLUMN_NAMES, values))
        seq, eid = row["seq"], row["id"]
        if prev_seq is None:
            expected = GENESIS if seq == 1 else starts.get(seq - 1)
            if expected is None:
                return broken(seq, eid, f"the chain starts at seq {seq} with no rotation anchor: "
                                        f"rows 1..{seq - 1} were deleted", "missing_range")
            if row["prev_hash"] != expected:
                return broken(seq, eid, "first row does not continue from "
                                        + ("GENESIS" if seq == 1 else "the archived chain")
                                        + " (rows deleted, inserted or replaced before it)", "reordered")
            res.first_seq = seq
        else:
            if seq != prev_seq + 1:
                return broken(seq, eid, f"rows seq {prev_seq + 1}..{seq - 1} are missing (deleted)",
                              "missing_range")
            if row["prev_hash"] != prev_hash:
                return broken(seq, eid, f"prev_hash does not match row seq {prev_seq}: "
                                        "a row was inserted, deleted or reordered here", "reordered")
        computed = row_hash(row["prev_hash"], store.hash_content(row), chain_key)
        if computed != row["row_hash"]:
            return broken(seq, eid, "row content was edited (its hash no longer matches)", "edited_row")
        for ref in json.loads(row["item_hashes"] or "[]"):
            missing = _missing_item(conn, ref, good_items, checked_chunks)
            if missing:
                return broken(seq, eid, f"history item {missing[:16]} it references is missing (deleted)",
                              "missing_item")
        prev_seq, prev_hash = seq, row["row_hash"]
        res.rows += 1

    res.last_seq, res.last_hash = prev_seq, prev_hash
    try:
        top = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    except sqlite3.OperationalError:
        top = None
    if top and prev_seq is not None and top[0] > prev_seq:
        return broken(prev_seq + 1, None, f"truncated tail: rows seq {prev_seq + 1}..{top[0]} were cut from the "
                                          "end of the chain (sqlite_sequence remembers them)", "truncated_tail")
    if top and prev_seq is None and top[0] > 0 and not res.archive:
        return broken(1, None, f"truncated tail: all {top[0]} rows were deleted", "truncated_tail")
    if res.archive:
        seal = json.loads(m["seal"])
        if seal_hash(seal, chain_key) != m.get("seal_hash"):
            return broken(None, None, "the archive seal was altered", "broken_seal")
        if (seal["rows"], seal["last_seq"], seal["last_hash"]) != (res.rows, prev_seq, prev_hash):
            return broken(prev_seq, None, f"archive holds {res.rows} rows ending at seq {prev_seq}, its seal says "
                                          f"{seal['rows']} rows ending at seq {seal['last_seq']}", "broken_seal")
    if not res.archive:
        problem = _check_head(conn, res, m, key, found, head_file, check_head)
        if problem:
            return broken(*problem)
    res.ok = True
    return res


def _key_where(source: str) -> str:
    return {"env": "KEEPTRUSTS_AUDIT_HMAC_KEY", "file": str(paths.audit_hmac_key())}.get(source, "argument")


def _check_head(conn: sqlite3.Connection, res: VerifyResult, m: dict, key: bytes | None,
                found: "head_mod.HeadRead | None", head_file: Path, check_head: bool) -> tuple | None:
    """(seq, id, problem, kind) when the chain's end disagrees with its signed head; None when it agrees."""
    if not check_head:
        res.notes.append("signed head not checked (--no-head): a cut tail or a wholesale rewrite would not show")
        return None
    if key is None:
        if m.get("head") == "signed":
            raise KeyProblem(f"{res.db} has a signed head: set KEEPTRUSTS_AUDIT_HMAC_KEY (or KEEPTRUSTS_HOME) so its "
                             "key can check it, or pass --no-head", "missing_key")
        res.notes.append("unkeyed chain without a signed head: a rewrite or a cut tail cannot be detected")
        return None
    assert found is not None
    if found.status == "missing" and m.get("head") != "signed":
        # We hold the key, so a head is expected: "never had one" cannot be told from "deleted to hide a rewrite".
        return (None, None, f"its signed head {head_file} is missing: it may hide a cut tail or a rewrite (a "
                            "database from before signed heads, or a copy: verify with --no-head)", "head_missing")
    if found.status == "wrong_key" and key_id(key) != m.get("key_id"):
        raise KeyProblem(f"the head {head_file} was signed with audit key id {found.other_key_id}, the key given has "
                         f"id {key_id(key)}: use the original key", "wrong_key")
    problem = head_mod.compare(conn, found, m, head_file, res.first_seq)
    if problem:
        kind, seq, text = problem
        if kind == "wrong_key":      # signed with another key than the chain's own: forged
            kind, text = "head_forged", text + ", not the chain's key: the head was forged"
        return (seq, None, text, kind)
    res.head_seq = found.head.seq
    end = res.last_seq or 0
    if end > found.head.seq:
        res.notes.append(f"{end - found.head.seq} rows after the signed head (seq {found.head.seq}): written just now, "
                         "or the gateway stopped before signing them")
    return None


def verify_with_archives(db_path: str | Path, key=DEFAULT_KEY, *, check_head: bool = True,
                         archive_dir: str | Path | None = None) -> list[VerifyResult]:
    """The live database, then each archive back to seq 1 (newest first), following the anchor rows:
    every archive must exist (beside the database, or in `archive_dir`), verify on its own, be the one its
    anchor names (last hash and seal) and continue exactly where the older archive ends."""
    db_path = Path(db_path)
    if key is DEFAULT_KEY:
        key = resolve_key(create=False)[0]
    live = verify(db_path, key, check_head=check_head)
    results = [live]
    if not live.ok:
        return results
    folder = Path(archive_dir) if archive_dir else db_path.parent
    anchors = _anchors(db_path)
    need, newer_start = (live.first_seq or 1) - 1, None
    while need > 0:
        a = anchors.get(need)
        if a is None:
            res = VerifyResult(ok=False, db=str(db_path))
            res.error = Problem(need + 1, None, f"no anchor row names the archive holding rows ..{need}",
                                "missing_archive")
            return results + [res]
        arc = folder / a["archive"]
        if not arc.exists():
            res = VerifyResult(ok=False, db=str(arc))
            res.error = Problem(a["archived_from_seq"], None, f"archive {arc} (rows {a['archived_from_seq']}.."
                                f"{need}), named by an anchor row, is missing", "missing_archive")
            return results + [res]
        res = verify(arc, key, check_head=False)
        results.append(res)
        if not res.ok:
            return results
        seal = json.loads(_meta(arc)["seal"])
        if (seal["last_seq"], seal["last_hash"]) != (need, a["archive_last_hash"]) or \
                seal_hash(seal, key if res.hash_alg == "hmac-sha256" else None) != a.get("archive_seal_hash"):
            res.ok = False
            res.error = Problem(need, None, "this archive is not the one its anchor row names (other last hash "
                                            "or seal)", "broken_link")
            return results
        if newer_start is not None and newer_start != seal["last_hash"]:
            res.ok = False
            res.error = Problem(need, None, "the next archive does not start where this one ends", "broken_link")
            return results
        anchors.update(_anchors(arc))
        newer_start, need = seal["starts_after_hash"], seal["first_seq"] - 1
        if need == 0 and seal["starts_after_hash"] != GENESIS:
            res.ok = False
            res.error = Problem(1, None, "the oldest archive does not start the chain at GENESIS", "broken_link")
    return results


def _ro(path: Path) -> sqlite3.Connection:
    return store.connect(path, readonly=True)


def _meta(path: Path) -> dict:
    conn = _ro(path)
    try:
        return store.meta(conn)
    finally:
        conn.close()


def _anchors(path: Path) -> dict[int, dict]:
    """{archived_through_seq: anchor info} from a database's anchor rows."""
    conn = _ro(path)
    try:
        out = {}
        for (extra,) in conn.execute("SELECT extra FROM events WHERE event_type = 'anchor'"):
            try:
                a = json.loads(extra)
                out[int(a["archived_through_seq"])] = a
            except (TypeError, ValueError, KeyError):
                continue
        return out
    finally:
        conn.close()


def _missing_item(conn: sqlite3.Connection, ref: str, good: set[str], checked_chunks: set[str]) -> str | None:
    """The first hash under `ref` (an item, or `c:` a chunk of item hashes) that is not stored intact."""
    if not ref.startswith(CHUNK_PREFIX):
        return None if ref in good else ref
    chunk = ref[len(CHUNK_PREFIX):]
    if chunk not in good:
        return chunk
    if chunk not in checked_chunks:
        body = conn.execute("SELECT body FROM items WHERE hash = ?", (chunk,)).fetchone()[0]
        for h in json.loads(body):
            if h not in good:
                return h
        checked_chunks.add(chunk)
    return None


def _first_user_of(conn: sqlite3.Connection, h: str) -> int | None:
    row = conn.execute("SELECT seq FROM events WHERE item_hashes LIKE ? ORDER BY seq LIMIT 1",
                       (f'%{h}"%',)).fetchone()
    return row[0] if row else None


__all__ = ["verify", "VerifyResult", "KeyProblem", "Problem", "seal_hash", "canonical", "DEFAULT_KEY",
           "EXIT_OK", "EXIT_BROKEN", "EXIT_KEY", "verify_with_archives"]
