"""The third-party `pii-leak-benchmark selfcheck` (PyPI 0.6.0) against the real gateway and the default pack.

The benchmark starts its own capture server and needs the gateway to use it as its upstream; it sends
an email at example.com, a 9xx SSN, a published test card and (profile pii-secrets-v1) AWS's EXAMPLE
key id plus GitHub and Slack specimens, then checks that none reached the capture and that the
streamed answer (the capture echoes the prompt one character per event) is restored byte for byte.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway_proc import DEFAULT_PACK, clean_env, free_port

BENCH = Path(sys.executable).with_name("pii-leak-benchmark")
pytestmark = pytest.mark.skipif(not BENCH.exists() and not shutil.which("pii-leak-benchmark"),
                                reason="pii-leak-benchmark is in the test extra (scripts/install)")


def selfcheck(base_url: str, capture_port: int, profile: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BENCH), "selfcheck", "--target-base-url", base_url, "--capture-port", str(capture_port),
                           "--profile", profile, "--iterations", "2", "--timeout-seconds", "20"],
                          capture_output=True, text=True, timeout=120, env=clean_env())


def test_default_pack_is_clean_for_both_profiles(gateway_factory):
    capture = free_port()
    gw = gateway_factory(upstream=f"http://127.0.0.1:{capture}")
    for profile in ("pii-v1", "pii-secrets-v1"):
        run = selfcheck(gw.base_url, capture, profile)
        assert run.returncode == 0 and "CLEAN" in run.stdout, f"{profile}:\n{run.stdout}\n{run.stderr}"
        assert "contained" in run.stdout and "LEAK" not in run.stdout


def test_allowing_documentation_values_is_reported_as_a_leak(gateway_factory, tmp_path):
    """The pack option that lets documentation values through is what the benchmark catches."""
    pack = yaml.safe_load(DEFAULT_PACK.read_text())
    for name in ("pii-detector", "code-sanitation"):
        pack["policy"][name]["documentation_values"] = "allow"
    config = tmp_path / "allow-docs.yaml"
    config.write_text(yaml.safe_dump(pack))
    capture = free_port()
    gw = gateway_factory(upstream=f"http://127.0.0.1:{capture}", config=config)
    run = selfcheck(gw.base_url, capture, "pii-secrets-v1")
    assert run.returncode == 1, run.stdout
    for entity in ("EMAIL", "SSN", "CREDIT_CARD", "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "SLACK_TOKEN"):
        assert f"LEAK  {entity}" in run.stdout, run.stdout
