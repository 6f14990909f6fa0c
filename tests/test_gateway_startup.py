"""`kt gateway run` startup errors: one line naming what is wrong and the fix, non-zero exit, no traceback.

Without these checks mitmproxy prints `address already in use` / `Errors logged during startup, exiting...`
and leaves the reason (if any) in a traceback.
"""
from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from gateway_proc import KT, ROOT, Gateway, clean_env, free_port

PACK = ROOT / "policies" / "codex-cli.yaml"


def start(tmp_path: Path, *args: str, certs: Path | None = None) -> subprocess.CompletedProcess:
    env = clean_env(KEEPTRUSTS_HOME=str(tmp_path / "home"),
                    KEEPTRUSTS_CERTS=str(certs or ROOT / ".cache" / "test-certs"))
    defaults = {"--listen": f"127.0.0.1:{free_port()}", "--proxy-listen": f"127.0.0.1:{free_port()}",
                "--audit-db": str(tmp_path / "audit.db")}
    for flag, value in defaults.items():
        if flag not in args:
            args = (*args, flag, value)
    return subprocess.run([str(KT), "gateway", "run", "--policy-config", str(PACK), *args],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)


def one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode != 0, p.stderr
    assert "Traceback" not in p.stderr + p.stdout and "Errors logged during startup" not in p.stderr, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_busy_listen_port_names_the_port_the_flag_and_doctor(tmp_path, busy_port):
    line = one_line_error(start(tmp_path, "--listen", f"127.0.0.1:{busy_port}"))
    assert f"port {busy_port} on 127.0.0.1 is already in use (--listen)" in line
    assert "another program" in line and "--listen 127.0.0.1:PORT" in line and "kt doctor" in line


def test_busy_proxy_port_names_proxy_listen(tmp_path, busy_port):
    line = one_line_error(start(tmp_path, "--proxy-listen", f"127.0.0.1:{busy_port}"))
    assert f"port {busy_port}" in line and "(--proxy-listen)" in line and "--proxy-listen 127.0.0.1:PORT" in line


def test_same_port_for_both_listeners_is_refused(tmp_path):
    port = free_port()
    line = one_line_error(start(tmp_path, "--listen", f"127.0.0.1:{port}", "--proxy-listen", f"127.0.0.1:{port}"))
    assert f"--listen and --proxy-listen both use port {port}" in line


def test_a_second_gateway_on_the_same_port_is_told_one_is_running(tmp_path, fake_openai):
    with Gateway(tmp_path / "first", fake_openai.url) as first:
        line = one_line_error(start(tmp_path, "--listen", f"127.0.0.1:{first.port}"))
    assert "a Keeptrusts gateway is already running there (codex-cli-gateway@" in line


def test_audit_path_under_a_file_names_the_path_and_why(tmp_path):
    (tmp_path / "notadir").write_text("x")
    db = tmp_path / "notadir" / "audit.db"
    line = one_line_error(start(tmp_path, "--audit-db", str(db)))
    assert str(db) in line and f"{tmp_path / 'notadir'} is a file, not a folder" in line and "--audit-db" in line


def test_audit_path_that_is_a_folder(tmp_path):
    (tmp_path / "dir.db").mkdir()
    p = start(tmp_path, "--audit-db", str(tmp_path / "dir.db"))   # click's own usage error
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert f"'--audit-db': File '{tmp_path / 'dir.db'}' is a directory" in p.stderr


def test_corrupt_ca_file_is_named_with_the_fix(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "mitmproxy-ca.pem").write_text("not a key\n")
    line = one_line_error(start(tmp_path, certs=certs))
    assert f"CA file {certs / 'mitmproxy-ca.pem'} is not a valid" in line and "kt certs" in line


def test_ca_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("x")
    line = one_line_error(start(tmp_path, certs=tmp_path / "file" / "certs"))
    assert f"CA folder {tmp_path / 'file' / 'certs'} cannot be created" in line and "KEEPTRUSTS_CERTS" in line


def test_a_new_ca_is_named_keeptrusts_gateway_ca(tmp_path, fake_openai):
    certs = tmp_path / "certs"
    with Gateway(tmp_path, fake_openai.url, certs=certs):
        pass
    cert = x509.load_pem_x509_certificate((certs / "mitmproxy-ca-cert.pem").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Keeptrusts Gateway CA"
    assert cert.issuer == cert.subject
