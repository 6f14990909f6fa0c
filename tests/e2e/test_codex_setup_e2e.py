"""The real Codex CLI reads what `kt codex setup` writes: a config that an appended line broke (duplicate
key) is refused by Codex, and after `kt codex setup` Codex uses it and reaches the base URL set there."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from codex import Codex
from fake_openai import FakeOpenAI
from keeptrusts.cli.main import cli

pytestmark = pytest.mark.e2e


def test_codex_refuses_the_appended_duplicate_and_accepts_kt_codex_setup(codex_binary, tmp_path):
    with FakeOpenAI(script=lambda received: "hello after kt codex setup") as fake:
        base = fake.base_url
        codex = Codex(codex_binary, tmp_path / "codex-home", tmp_path / "ws", base_url=None)
        config = tmp_path / "codex-home" / "config.toml"
        config.write_text('model_reasoning_effort = "low"\n' + f'openai_base_url = "{base}"\n' * 2)

        broken = codex.run("Say hello", timeout=60)
        assert broken.returncode != 0 and "duplicate key" in broken.stdout + broken.stderr, broken.stderr

        r = CliRunner().invoke(cli, ["codex", "setup", "--config", str(config), "--base-url", base])
        assert r.exit_code == 0 and "removed 2 duplicate" in r.output, r.output
        assert 'model_reasoning_effort = "low"' in config.read_text()

        run = codex.run("Say hello", timeout=60)
        assert run.messages == ["hello after kt codex setup"], run.stdout + run.stderr
        assert fake.received(), "Codex did not reach the base URL kt codex setup wrote"
