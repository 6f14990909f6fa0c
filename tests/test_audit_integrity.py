"""Audit integrity (issue 15): each attack on the trail fails, on real SQLite files.

The attacker uses plain sqlite3 and the project's own code (row_hash without a key, as anyone can),
but not the installation's audit key, which lives in the state dir (0600).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from keeptrusts import paths
from keeptrusts.audit import AuditError, AuditWriter, store
from keeptrusts.audit import head as head_mod
from keeptrusts.audit.chain import create_key_file, key_from_env, key_id, row_hash
from keeptrusts.audit.rotate import rotate
from keeptrusts.audit.verify import KeyProblem, verify, verify_with_archives
from keeptrusts.cli.main import cli

from audit_helpers import record, responses_body


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Each test its own installation: its own audit key."""
    h = tmp_path / "kt-home"
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(h))
    monkeypatch.delenv("KEEPTRUSTS_AUDIT_HMAC_KEY", raising=False)
    return h


def write(path, n=10, key=None, start=1):
    with AuditWriter(path, hmac_key=key) as w:
        for i in range(start, start + n):
            w.submit(record(i, request_body=responses_body(i % 6))).result(5)
    return path


@pytest.fixture
def db(tmp_path):
    return write(tmp_path / "audit.db")


def attacker(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    store.drop_triggers(conn)
    return conn


def kt(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------ keyed by default
def test_default_chain_is_keyed_with_a_generated_private_key(db, home):
    key_file = home / "audit-hmac.key"
    assert mode(key_file) == 0o600
    key = key_from_env()
    assert key == key_file.read_text().strip().encode()
    m = store.meta(sqlite3.connect(db))
    assert m["hash_alg"] == "hmac-sha256" and m["key_id"] == key_id(key)
    res = verify(db)
    assert res.ok and res.head_seq == 10, res.render()
    assert "signed head matches" in res.render()


def test_env_key_still_overrides_the_key_file(tmp_path, monkeypatch, home):
    monkeypatch.setenv("KEEPTRUSTS_AUDIT_HMAC_KEY", "operator-chosen-key")
    path = write(tmp_path / "env.db", n=2)
    assert store.meta(sqlite3.connect(path))["key_id"] == key_id(b"operator-chosen-key")
    assert not (home / "audit-hmac.key").exists()
    assert verify(path).ok
    monkeypatch.delenv("KEEPTRUSTS_AUDIT_HMAC_KEY")
    with pytest.raises(KeyProblem) as exc:     # the verifier has no key now
        verify(path)
    assert exc.value.kind == "missing_key"


def test_two_processes_creating_the_key_agree(home):
    a = create_key_file(home / "k")
    b = create_key_file(home / "k")
    assert a == b and len(a) == 64 and mode(home / "k") == 0o600


# ------------------------------------------------------------------ file permissions
def test_db_wal_shm_head_and_key_are_private(tmp_path, home):
    path = tmp_path / "audit.db"
    with AuditWriter(path) as w:
        w.submit(record(1)).result(5)
        for p in (path, f"{path}-wal", f"{path}-shm", paths.audit_head(path), home / "audit-hmac.key"):
            assert mode(p) == 0o600, (p, oct(mode(p)))


def test_an_existing_world_readable_db_is_tightened(tmp_path):
    path = write(tmp_path / "audit.db", n=1)
    os.chmod(path, 0o644)
    write(path, n=1, start=2)
    assert mode(path) == 0o600


# ------------------------------------------------------------------ truncation
def test_last_rows_deleted_and_sqlite_sequence_rewound_is_a_truncated_tail(db):
    conn = attacker(db)
    conn.execute("DELETE FROM events WHERE seq >= 8")
    conn.execute("UPDATE sqlite_sequence SET seq = 7 WHERE name = 'events'")
    res = verify(db)
    assert not res.ok and res.error.kind == "truncated_tail" and res.error.seq == 8
    assert "rows seq 8..10" in res.error.problem
    r = kt("audit", "verify", "--db", db)
    assert r.exit_code == 1 and "truncated tail" in r.output and "[truncated_tail]" in r.output
    # without the head (what verify did before) the cut is invisible: that is what the head is for
    assert verify(db, check_head=False).ok


def test_all_rows_deleted_and_sequence_reset(db):
    conn = attacker(db)
    conn.execute("DELETE FROM events")
    conn.execute("DELETE FROM sqlite_sequence")
    res = verify(db)
    assert not res.ok and res.error.kind == "truncated_tail"


def test_head_deleted_too_is_reported(db):
    conn = attacker(db)
    conn.execute("DELETE FROM events WHERE seq >= 8")
    conn.execute("UPDATE sqlite_sequence SET seq = 7 WHERE name = 'events'")
    conn.execute("DELETE FROM meta WHERE key = 'head'")      # and erases the hint that there was one
    paths.audit_head(db).unlink()
    res = verify(db)
    assert not res.ok and res.error.kind == "head_missing"


def test_an_older_head_slot_torn_by_a_crash_still_protects(db):
    """A power loss tears at most the slot being written; the other slot (one commit older) is used."""
    hp = paths.audit_head(db)
    data = bytearray(hp.read_bytes())
    newest = head_mod.read(hp, key_from_env()).slot
    data[newest * head_mod.SLOT + 5] ^= 0x55
    hp.write_bytes(bytes(data))
    res = verify(db)
    assert res.ok and res.head_seq == 9 and any("after the signed head" in n for n in res.notes)


# ------------------------------------------------------------------ rewrites
def _rewrite(conn, key=None, from_seq=3):
    """Edit row `from_seq` and recompute every later hash, as the attacker can with the project's code."""
    conn.execute("UPDATE events SET verdict = 'allow', policies = '[]' WHERE seq = ?", (from_seq,))
    prev = conn.execute("SELECT row_hash FROM events WHERE seq = ?", (from_seq - 1,)).fetchone()[0]
    for (seq,) in conn.execute("SELECT seq FROM events WHERE seq >= ? ORDER BY seq", (from_seq,)).fetchall():
        row = dict(zip(store.COLUMN_NAMES, conn.execute(
            f"SELECT {', '.join(store.COLUMN_NAMES)} FROM events WHERE seq = ?", (seq,)).fetchone()))
        row["prev_hash"] = prev
        prev = row_hash(prev, store.hash_content(row), key)
        conn.execute("UPDATE events SET prev_hash = ?, row_hash = ? WHERE seq = ?", (row["prev_hash"], prev, seq))


def test_full_rewrite_with_the_projects_own_hash_fails(db):
    conn = attacker(db)
    conn.execute("UPDATE events SET prev_hash = NULL WHERE 0")
    # Rewrite from row 1 with plain sha256 and claim the chain was always unkeyed.
    conn.execute("UPDATE meta SET value = 'sha256' WHERE key = 'hash_alg'")
    conn.execute("UPDATE meta SET value = '' WHERE key = 'key_id'")
    prev = "0" * 64
    for (seq,) in conn.execute("SELECT seq FROM events ORDER BY seq").fetchall():
        if seq == 4:
            conn.execute("UPDATE events SET verdict = 'allow' WHERE seq = 4")
        row = dict(zip(store.COLUMN_NAMES, conn.execute(
            f"SELECT {', '.join(store.COLUMN_NAMES)} FROM events WHERE seq = ?", (seq,)).fetchone()))
        row["prev_hash"] = prev
        prev = row_hash(prev, store.hash_content(row), None)
        conn.execute("UPDATE events SET prev_hash = ?, row_hash = ? WHERE seq = ?", (row["prev_hash"], prev, seq))
    res = verify(db)
    assert not res.ok and res.error.kind == "rewritten", res.render()
    r = kt("audit", "verify", "--db", db)
    assert r.exit_code == 1 and "rewritten" in r.output
    # ... and erasing the head as well does not help
    conn.execute("DELETE FROM meta WHERE key = 'head'")
    paths.audit_head(db).unlink()
    assert verify(db).error.kind == "head_missing"


def test_rewrite_under_an_attacker_key_fails(db):
    conn = attacker(db)
    mine = b"attacker-key"
    _rewrite(conn, mine)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'key_id'", (key_id(mine),))
    res = verify(db)
    assert not res.ok and res.error.kind == "rewritten"


def test_rewrite_of_the_tail_without_the_key_is_an_edited_row(db):
    _rewrite(attacker(db), None, from_seq=6)
    res = verify(db)
    assert not res.ok and res.error.kind == "edited_row" and res.error.seq == 6


def test_forged_head_fails(db):
    hp = paths.audit_head(db)
    fake = head_mod.Head(store.meta(sqlite3.connect(db))["db_id"], 5, "f" * 64, "hmac-sha256", key_id(key_from_env()))
    hp.write_bytes(head_mod.encode(fake, b"guessed-key") * 2)
    res = verify(db)
    assert not res.ok and res.error.kind == "head_forged"


# ------------------------------------------------------------------ what verify reports, with exit codes
def test_edited_row_and_missing_range_are_named(db):
    attacker(db).execute("UPDATE events SET developer = 'mallory' WHERE seq = 4")
    r = kt("audit", "verify", "--db", db, "--json")
    out = json.loads(r.output)
    assert r.exit_code == 1 and out["error"]["kind"] == "edited_row" and out["error"]["seq"] == 4


def test_missing_range_is_named(db):
    attacker(db).execute("DELETE FROM events WHERE seq BETWEEN 4 AND 6")
    r = kt("audit", "verify", "--db", db)
    assert r.exit_code == 1 and "rows seq 4..6 are missing" in r.output and "[missing_range]" in r.output


def test_wrong_key_exits_3(db):
    r = kt("audit", "verify", "--db", db, env={"KEEPTRUSTS_AUDIT_HMAC_KEY": "not-the-key"})
    assert r.exit_code == 3 and "wrong_key" in r.output
    r = kt("audit", "verify", "--db", db, "--json", env={"KEEPTRUSTS_AUDIT_HMAC_KEY": "not-the-key"})
    assert r.exit_code == 3 and json.loads(r.output)["error"]["kind"] == "wrong_key"
    r = kt("audit", "verify", "--db", db)
    assert r.exit_code == 0 and r.output.startswith("OK 10 rows")


# ------------------------------------------------------------------ while the gateway runs
def _writer_with_rows(path, n=3) -> AuditWriter:
    w = AuditWriter(path).start()
    for i in range(1, n + 1):
        w.submit(record(i)).result(5)
    return w


def test_db_deleted_while_running_makes_the_writer_unhealthy_for_good(tmp_path):
    path = tmp_path / "audit.db"
    w = _writer_with_rows(path)
    try:
        for p in (path, f"{path}-wal", f"{path}-shm"):
            os.unlink(p)
        with pytest.raises(AuditError, match="deleted"):
            w.submit(record(4)).result(5)
        assert not w.healthy and "was deleted while the gateway runs" in w.last_error
        with pytest.raises(AuditError):                    # sticky: nothing is written anywhere
            w.submit(record(5)).result(5)
        assert not w.healthy
    finally:
        w.close()
    assert not path.exists()
    # A restart on the same path refuses: the head left behind vouches for the deleted database.
    with pytest.raises(AuditError, match="deleted or replaced"):
        AuditWriter(path).start()


def test_db_replaced_while_running(tmp_path):
    path = tmp_path / "audit.db"
    w = _writer_with_rows(path)
    try:
        other = write(tmp_path / "other.db", n=1)
        os.replace(other, path)
        with pytest.raises(AuditError, match="replaced"):
            w.submit(record(4)).result(5)
        assert not w.healthy and "replaced by another file" in w.last_error
    finally:
        w.close()


def test_rows_cut_while_running(tmp_path):
    path = tmp_path / "audit.db"
    w = _writer_with_rows(path)
    try:
        conn = attacker(path)
        conn.execute("DELETE FROM events WHERE seq = 3")
        conn.execute("UPDATE sqlite_sequence SET seq = 2 WHERE name = 'events'")
        conn.close()
        with pytest.raises(AuditError, match="cut while the gateway runs"):
            w.submit(record(4)).result(5)
        assert not w.healthy
    finally:
        w.close()


def test_head_deleted_while_running(tmp_path):
    path = tmp_path / "audit.db"
    w = _writer_with_rows(path)
    try:
        paths.audit_head(path).unlink()
        with pytest.raises(AuditError, match="head"):
            w.submit(record(4)).result(5)
        assert not w.healthy
    finally:
        w.close()


def test_truncated_while_stopped_refuses_to_start(db):
    conn = attacker(db)
    conn.execute("DELETE FROM events WHERE seq >= 9")
    conn.execute("UPDATE sqlite_sequence SET seq = 8 WHERE name = 'events'")
    conn.close()
    with pytest.raises(AuditError, match="rows seq 9..10 were cut"):
        AuditWriter(db).start()


def test_crash_between_commit_and_head_is_not_an_alarm(db):
    """The head is signed after the commit: after a crash it may lag one batch, never lead."""
    key = key_from_env()
    hp = paths.audit_head(db)
    old = head_mod.read(hp, key).head
    lag = head_mod.Head(old.db_id, 8, sqlite3.connect(db).execute(
        "SELECT row_hash FROM events WHERE seq = 8").fetchone()[0], old.alg, old.key_id)
    hp.write_bytes(head_mod.encode(lag, key) * 2)
    res = verify(db)
    assert res.ok and any("2 rows after the signed head" in n for n in res.notes)
    write(db, n=1, start=11)                                   # the gateway restarts and catches up
    assert verify(db).ok and verify(db).head_seq == 11


# ------------------------------------------------------------------ databases from before signed heads
def test_legacy_unkeyed_db_gets_a_signed_head_and_is_protected(tmp_path, monkeypatch):
    path = write(tmp_path / "legacy.db", n=5, key=b"")       # as the previous version wrote it
    assert not paths.audit_head(path).exists()
    assert verify(path, b"").ok                               # a verifier without a key accepts it, with a note
    write(path, n=2, start=6)                                 # the new gateway, default key: keeps sha256 rows
    assert store.meta(sqlite3.connect(path))["hash_alg"] == "sha256"
    assert verify(path).ok and verify(path).head_seq == 7
    conn = attacker(path)
    conn.execute("DELETE FROM events WHERE seq = 7")
    conn.execute("UPDATE sqlite_sequence SET seq = 6 WHERE name = 'events'")
    assert verify(path).error.kind == "truncated_tail"


# ------------------------------------------------------------------ rotation
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


def _fill_dated(path, n=10):
    with AuditWriter(path) as w:
        for i in range(1, n + 1):
            ts = (NOW - dt.timedelta(days=n - i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            w.submit(record(i, timestamp=ts, request_body=responses_body(i % 5))).result(5)


def test_verify_across_rotations(tmp_path):
    path = tmp_path / "audit.db"
    _fill_dated(path)
    first = rotate(path, dt.timedelta(days=6.5), now=NOW)
    second = rotate(path, dt.timedelta(days=2.5), now=NOW)
    results = verify_with_archives(path)
    assert [r.ok for r in results] == [True, True, True], [r.render() for r in results]
    assert [r.db for r in results[1:]] == [second.archive, first.archive]
    assert verify(path).head_seq == 12                         # rotate re-signed the head after its anchors
    r = kt("audit", "verify", "--db", path, "--archives")
    assert r.exit_code == 0 and r.output.count("OK ") == 3
    os.chmod(first.archive, 0o600)
    os.unlink(first.archive)
    r = kt("audit", "verify", "--db", path, "--archives")
    assert r.exit_code == 1 and "[missing_archive]" in r.output


def test_rotate_refuses_to_sign_a_truncated_db(tmp_path):
    path = tmp_path / "audit.db"
    _fill_dated(path)
    conn = attacker(path)
    conn.execute("DELETE FROM events WHERE seq = 10")
    conn.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'events'")
    conn.close()
    with pytest.raises(AuditError, match="truncated tail"):
        rotate(path, dt.timedelta(days=4.5), now=NOW)
    assert verify(path).error.kind == "truncated_tail"


def test_head_and_its_marker_deleted_while_stopped_refuses_to_start(db):
    """Nothing inside the file can prove there was a head (the attacker edits the file), but the key
    file already existed, so a database with rows and no head is not adopted silently."""
    conn = attacker(db)
    conn.execute("DELETE FROM events WHERE seq >= 9")
    conn.execute("UPDATE sqlite_sequence SET seq = 8 WHERE name = 'events'")
    conn.execute("DELETE FROM meta WHERE key IN ('head', 'db_id')")
    conn.close()
    paths.audit_head(db).unlink()
    with pytest.raises(AuditError, match="signed head .* is missing"):
        AuditWriter(db).start()
    assert not paths.audit_head(db).exists() and verify(db).error.kind == "head_missing"
    assert "db_id" not in store.meta(sqlite3.connect(db))          # a refused start changes nothing


def test_a_legacy_db_with_an_explicit_key_is_adopted_once(tmp_path, monkeypatch):
    monkeypatch.setenv("KEEPTRUSTS_AUDIT_HMAC_KEY", "operator-key")
    path = tmp_path / "old.db"
    write(path, n=3)
    # as the previous version left it: no head, no db id, no marker
    conn = attacker(path)
    conn.execute("DELETE FROM meta WHERE key IN ('head', 'db_id')")
    conn.close()
    paths.audit_head(path).unlink()
    write(path, n=1, start=4)                  # adopted: signed from now on
    assert verify(path).ok and verify(path).head_seq == 4
    paths.audit_head(path).unlink()            # ... and from then on a missing head is refused
    with pytest.raises(AuditError, match="missing"):
        AuditWriter(path).start()
