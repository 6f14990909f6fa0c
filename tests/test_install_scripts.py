"""scripts/test, scripts/install-codex: installs use the machine's CA settings (behind a TLS-inspecting
proxy npm needs NODE_EXTRA_CA_CERTS), each Codex version gets its own folder, and a certificate failure
names the fix. Run on copies of the scripts in a temporary checkout, with a fake npm on PATH."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_NPM = r"""#!/usr/bin/env bash
echo "$* | NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-}" >> "$FAKE_NPM_LOG"
if [ -n "${FAKE_NPM_CERT_ERROR:-}" ]; then
  echo "npm error code SELF_SIGNED_CERT_IN_CHAIN" >&2; exit 1
fi
case "$1" in
  view) echo 9.9.9 ;;
  install)
    prefix=$3; ver=${@: -1}; ver=${ver##*@}
    mkdir -p "$prefix/node_modules/.bin"
    printf '#!/bin/sh\necho "codex-cli %s"\n' "$ver" > "$prefix/node_modules/.bin/codex"
    chmod +x "$prefix/node_modules/.bin/codex" ;;
esac
"""


@pytest.fixture
def checkout(tmp_path):
    """A checkout with the real scripts and a fake npm first on PATH."""
    (tmp_path / "repo" / "scripts").mkdir(parents=True)
    for name in ("install-codex", "test"):
        shutil.copy2(ROOT / "scripts" / name, tmp_path / "repo" / "scripts" / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM)
    (bin_dir / "npm").chmod(0o755)
    return tmp_path / "repo", bin_dir, tmp_path / "npm.log"


def run(checkout, script, *args, **env):
    repo, bin_dir, log = checkout
    base = {k: v for k, v in os.environ.items()
            if k not in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "CODEX_VERSION", "npm_config_cafile")}
    base.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", FAKE_NPM_LOG=str(log), **env)
    return subprocess.run([str(repo / "scripts" / script), *args], capture_output=True, text=True, env=base,
                          timeout=60)


def npm_calls(checkout) -> list[str]:
    log = checkout[2]
    return log.read_text().splitlines() if log.exists() else []


def test_the_machines_node_ca_reaches_npm(checkout, tmp_path):
    p = run(checkout, "install-codex", NODE_EXTRA_CA_CERTS="/corp/ca.pem")
    assert p.returncode == 0, p.stderr
    assert npm_calls(checkout) and all(c.endswith("NODE_EXTRA_CA_CERTS=/corp/ca.pem") for c in npm_calls(checkout))


def test_ssl_cert_file_alone_is_given_to_npm(checkout, tmp_path):
    bundle = tmp_path / "corp-bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    p = run(checkout, "install-codex", SSL_CERT_FILE=str(bundle))
    assert p.returncode == 0, p.stderr
    assert npm_calls(checkout)[0].endswith(f"NODE_EXTRA_CA_CERTS={bundle}")


def test_each_version_installs_once_into_its_own_folder(checkout):
    repo = checkout[0]
    pinned = run(checkout, "install-codex")
    other = run(checkout, "install-codex", CODEX_VERSION="1.2.3")
    again = run(checkout, "install-codex", CODEX_VERSION="1.2.3")
    assert pinned.stdout.strip().startswith(str(repo / ".cache" / "codex" / "0."))
    assert other.stdout.strip() == again.stdout.strip() == str(repo / ".cache/codex/1.2.3/node_modules/.bin/codex")
    assert len([c for c in npm_calls(checkout) if c.startswith("install")]) == 2   # the third run is cached
    assert "codex-cli 1.2.3" in other.stderr and "installing @openai/codex@1.2.3" in other.stderr


def test_latest_resolves_to_the_newest_version_on_npm(checkout):
    repo = checkout[0]
    assert run(checkout, "install-codex", "--resolve", CODEX_VERSION="latest").stdout.strip() == "9.9.9"
    p = run(checkout, "install-codex", CODEX_VERSION="latest")
    assert p.stdout.strip() == str(repo / ".cache/codex/9.9.9/node_modules/.bin/codex")


def test_a_certificate_failure_names_the_variable_to_set(checkout):
    p = run(checkout, "install-codex", FAKE_NPM_CERT_ERROR="1")
    assert p.returncode != 0
    assert "SELF_SIGNED_CERT_IN_CHAIN" in p.stderr and "export NODE_EXTRA_CA_CERTS=" in p.stderr


def test_scripts_test_keeps_the_ca_settings_for_the_installs(checkout):
    """The regression: scripts/test unset the CA variables, so npm failed on a machine behind a proxy."""
    repo = checkout[0]
    dump = 'echo "$0 NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-} CODEX_VERSION=${CODEX_VERSION:-}" >> "$FAKE_NPM_LOG"\n'
    (repo / "scripts" / "install").write_text("#!/usr/bin/env bash\n" + dump)
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "python").write_text("#!/usr/bin/env bash\n" + dump)
    for f in (repo / "scripts" / "install", repo / ".venv" / "bin" / "python"):
        f.chmod(0o755)
    p = run(checkout, "test", "-x", NODE_EXTRA_CA_CERTS="/corp/ca.pem", CODEX_VERSION="latest")
    assert p.returncode == 0, p.stderr
    calls = npm_calls(checkout)
    install = next(c for c in calls if "scripts/install " in c)
    assert "NODE_EXTRA_CA_CERTS=/corp/ca.pem" in install and "CODEX_VERSION=9.9.9" in install   # latest resolved once
    assert "Codex compatibility canary: newest @openai/codex on npm is 9.9.9" in p.stderr
