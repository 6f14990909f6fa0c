"""Replays never write the user's audit trail: `mitmdump -nr FILE -s addons/keeptrusts.py` without an explicit
keeptrusts_audit_db goes to a throwaway database and says so (paths.audit_db_for decides)."""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from keeptrusts import paths

ROOT = Path(__file__).resolve().parents[1]
MITMDUMP = Path(sys.executable).with_name("mitmdump")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KEEPTRUSTS_AUDIT_DB", raising=False)
    return tmp_path / "home"


def test_an_explicit_path_always_wins(home, tmp_path):
    for replay in (True, False):
        assert paths.audit_db_for(str(tmp_path / "mine.db"), replay) == (tmp_path / "mine.db", None)


def test_the_gateway_uses_the_users_trail(home):
    assert paths.audit_db_for("", replay=False) == (home / "audit.db", None)


def test_a_replay_gets_a_fresh_throwaway_database_and_a_message(home):
    db, note = paths.audit_db_for("", replay=True)
    other, _ = paths.audit_db_for("", replay=True)
    assert db != home / "audit.db" and home not in db.parents and db.parent.is_dir() and not db.exists()
    assert other != db   # two replays never share one
    assert note and str(db) in note and str(home / "audit.db") in note and "keeptrusts_audit_db" in note


def test_the_users_audit_db_variable_is_not_an_explicit_choice_for_a_replay(home, monkeypatch, tmp_path):
    monkeypatch.setenv("KEEPTRUSTS_AUDIT_DB", str(tmp_path / "real-trail.db"))
    db, note = paths.audit_db_for("", replay=True)
    assert db != tmp_path / "real-trail.db" and str(tmp_path / "real-trail.db") in note


@pytest.mark.parametrize("rfile, server, replay", [
    (None, True, False),            # kt gateway run / mitmdump as a proxy
    ("flows.mitm", False, True),    # mitmdump -nr flows.mitm
    ("flows.mitm", True, True),     # mitmdump -r flows.mitm (reads, then proxies)
    (None, False, True),            # mitmdump -n (no server: nothing real to audit)
])
def test_is_replay_reads_mitmproxys_options(rfile, server, replay):
    assert paths.is_replay(SimpleNamespace(rfile=rfile, server=server)) is replay


ADDON_WIRED = "audit_db_for" in (ROOT / "src" / "keeptrusts" / "addon.py").read_text()


@pytest.mark.skipif(not ADDON_WIRED, reason="the addon does not call paths.audit_db_for yet")
def test_a_recorded_flow_replayed_without_audit_db_leaves_the_users_trail_alone(tmp_path):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "KEEPTRUSTS_AUDIT_DB"}
    env.update(KEEPTRUSTS_HOME=str(tmp_path / "home"), KEEPTRUSTS_CERTS=str(tmp_path / "certs"), HOME=str(tmp_path))
    p = subprocess.run([str(MITMDUMP), "-nr", str(ROOT / "tests" / "flows" / "codex-sse.mitm"),
                        "-s", str(ROOT / "addons" / "keeptrusts.py"),
                        "--set", f"keeptrusts_config={ROOT / 'policies' / 'codex-cli.yaml'}"],
                       capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "Traceback" not in out, out
    assert not (tmp_path / "home" / "audit.db").exists()
    m = re.search(r"throwaway database (\S+audit\.db)", out)
    assert m, out
    rows = sqlite3.connect(m.group(1)).execute("select count(*) from events").fetchone()[0]
    assert rows > 0
