"""Fixtures for the end-to-end tests: the pinned Codex CLI and a policy config with prices."""
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # codex.py, gateway.py, mitm.py, scenario.py

from codex import install_codex, missing_node_reason  # noqa: E402

ROOT = HERE.parents[1]


@pytest.fixture(scope="session")
def codex_binary() -> Path:
    reason = missing_node_reason()
    if reason:
        pytest.skip(reason)
    return install_codex()


@pytest.fixture(scope="session")
def priced_policy(tmp_path_factory) -> Path:
    """The shipped codex-cli pack, plus a price on the target: Codex 0.169.0's default model
    (gpt-6.1-sol) is not in the built-in price table, and every turn must carry a cost."""
    cfg = yaml.safe_load((ROOT / "policies" / "codex-cli.yaml").read_text())
    cfg["providers"]["targets"][0]["pricing"] = {"input": 1.25, "cached_input": 0.125, "output": 10.0}
    path = tmp_path_factory.mktemp("policy") / "codex-cli-priced.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def pytest_report_header(config):
    """Which Codex the end-to-end tests run (the compatibility canary sets CODEX_VERSION)."""
    pinned = next((line.split("=", 1)[1] for line in (ROOT / "scripts" / "install-codex").read_text().splitlines()
                   if line.startswith("PINNED=")), "?")
    import os
    return f"Codex CLI under test: {os.environ.get('CODEX_VERSION') or pinned} (pinned {pinned})"
