"""`kt codex setup`: points Codex at the gateway by editing only openai_base_url in its config.toml."""
from __future__ import annotations

import tomllib

import pytest
from click.testing import CliRunner

from keeptrusts.cli.codex import SetupError, edit_config
from keeptrusts.cli.main import cli

URL = "http://127.0.0.1:41002/v1"
USER_CONFIG = '''# my Codex settings
model = "o3"   # the one I like
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-server"]

[profiles.fast]
model = "gpt-5-mini"
'''


def setup(tmp_path, *args, env=None):
    return CliRunner().invoke(cli, ["codex", "setup", *args],
                              env={"CODEX_HOME": str(tmp_path / "codex"), "KEEPTRUSTS_CERTS": str(tmp_path / "certs"),
                                   **(env or {})})


def config(tmp_path):
    return tmp_path / "codex" / "config.toml"


def test_creates_the_config_when_there_is_none(tmp_path):
    r = setup(tmp_path)
    assert r.exit_code == 0, r.output
    assert tomllib.loads(config(tmp_path).read_text()) == {"openai_base_url": URL}
    assert not config(tmp_path).with_name("config.toml.bak").exists()


def test_keeps_every_other_key_comment_and_table_and_backs_up(tmp_path):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text(USER_CONFIG)
    r = setup(tmp_path)
    assert r.exit_code == 0, r.output
    after = config(tmp_path).read_text()
    assert tomllib.loads(after) == {**tomllib.loads(USER_CONFIG), "openai_base_url": URL}
    assert after.replace(f'openai_base_url = "{URL}"\n', "") == USER_CONFIG   # only that line added
    # Above the first table: after [profiles.fast] it would be that profile's key, not Codex's.
    assert after.index("openai_base_url") < after.index("[mcp_servers.docs]")
    assert config(tmp_path).with_name("config.toml.bak").read_text() == USER_CONFIG
    assert "previous file:" in r.output


def test_running_it_again_changes_nothing(tmp_path):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text(USER_CONFIG)
    setup(tmp_path)
    first = config(tmp_path).read_text()
    config(tmp_path).with_name("config.toml.bak").unlink()
    r = setup(tmp_path)
    assert r.exit_code == 0 and "nothing to change" in r.output
    assert config(tmp_path).read_text() == first
    assert not config(tmp_path).with_name("config.toml.bak").exists()


def test_an_old_value_is_replaced_in_place(tmp_path):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text('model = "o3"\nopenai_base_url = "http://127.0.0.1:9999/v1"\n[tui]\nx = 1\n')
    assert setup(tmp_path, "--base-url", "http://127.0.0.1:5555/v1").exit_code == 0
    assert config(tmp_path).read_text() == 'model = "o3"\nopenai_base_url = "http://127.0.0.1:5555/v1"\n[tui]\nx = 1\n'


@pytest.mark.parametrize("before", [
    'model = "o3"\n' + f'openai_base_url = "{URL}"\n' * 2,                        # cat >> twice, top level
    '[mcp_servers.x]\ncommand = "y"\n' + f'openai_base_url = "{URL}"\n' * 2,     # cat >> twice after a table
])
def test_repairs_the_duplicate_key_cat_append_left(tmp_path, before):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text(before)
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(before)   # what made Codex refuse its config
    r = setup(tmp_path)
    assert r.exit_code == 0 and "removed 2 duplicate openai_base_url lines" in r.output, r.output
    doc = tomllib.loads(config(tmp_path).read_text())
    assert doc["openai_base_url"] == URL and all("openai_base_url" not in v for v in doc.values() if isinstance(v, dict))


def test_invalid_toml_is_left_alone(tmp_path):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text("model = [broken\n")
    r = setup(tmp_path)
    assert r.exit_code == 1 and "is not valid TOML" in r.output and "fix it first" in r.output
    assert config(tmp_path).read_text() == "model = [broken\n"


def test_another_model_provider_is_named_not_overridden(tmp_path):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text('model_provider = "azure"\n[model_providers.azure]\nbase_url = "https://x"\n')
    r = setup(tmp_path)
    assert r.exit_code == 1 and "model_providers.azure.base_url" in r.output


def test_dry_run_shows_the_diff_and_writes_nothing(tmp_path):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text(USER_CONFIG)
    r = setup(tmp_path, "--dry-run")
    assert r.exit_code == 0 and "nothing written" in r.output and f'+openai_base_url = "{URL}"' in r.output
    assert config(tmp_path).read_text() == USER_CONFIG
    assert not config(tmp_path).with_name("config.toml.bak").exists()


def test_proxy_mode_removes_the_base_url_and_prints_the_variables(tmp_path):
    config(tmp_path).parent.mkdir()
    config(tmp_path).write_text(f'openai_base_url = "{URL}"\n' + USER_CONFIG)
    r = setup(tmp_path, "--mode", "proxy", "--proxy-url", "http://127.0.0.1:5003")
    assert r.exit_code == 0, r.output
    assert config(tmp_path).read_text() == USER_CONFIG
    exports = dict(line[len("export "):].split("=", 1) for line in r.stdout.splitlines() if line.startswith("export "))
    assert exports["HTTPS_PROXY"] == "http://127.0.0.1:5003"
    assert open(exports["CODEX_CA_CERTIFICATE"]).read() in open(exports["SSL_CERT_FILE"]).read()
    assert all(line.startswith(("export ", "#")) for line in r.stdout.splitlines())   # safe to eval


def test_a_key_line_inside_a_multiline_string_is_not_touched():
    text = 'prompt = """\nopenai_base_url = "inside a string"\n"""\n'
    new, _ = edit_config(text, URL)
    assert tomllib.loads(new) == {"prompt": 'openai_base_url = "inside a string"\n', "openai_base_url": URL}


def test_an_edit_that_would_change_more_is_refused():
    text = 'prompt = """\nopenai_base_url = "x"\n"""\nopenai_base_url = "old"\n'
    # The first matching line is inside the string: replacing it would change the prompt; the fallback
    # (new line on top) would duplicate the key. Nothing is written.
    with pytest.raises(SetupError):
        edit_config(text, URL)
