"""`kt codex setup`: point Codex CLI at the gateway by editing its config.toml safely.

Codex ignores OPENAI_BASE_URL; `openai_base_url` in $CODEX_HOME/config.toml (else ~/.codex/config.toml)
points it. Appending that line with `cat >>` breaks the file the second time (duplicate key, and
Codex refuses the whole config) or lands it inside whatever [table] ends the file. This command
edits the one top-level key and nothing else:

- idempotent: a config that already points at the gateway is not written (and gets no backup);
- keeps every other key, comment and table: the result is parsed back and must equal the original
  document with only openai_base_url changed, or nothing is written;
- repairs the duplicate openai_base_url lines an earlier `cat >>` left;
- writes a backup (config.toml.bak) before changing an existing file; --dry-run shows the diff only;
- `--mode proxy` removes openai_base_url (Codex then goes to api.openai.com through HTTPS_PROXY) and
  prints the variables for `eval`: HTTPS_PROXY and the CA trust Codex reads.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from pathlib import Path

import click

KEY = "openai_base_url"
DEFAULT_BASE_URL = "http://127.0.0.1:41002/v1"
DEFAULT_PROXY_URL = "http://127.0.0.1:41003"
# A top-level `openai_base_url = ...` line (bare or quoted key). Lines inside a table or a multi-line
# string that look like it are caught by the round-trip check in edit_config.
KEY_LINE = re.compile(r"""^[ \t]*(openai_base_url|"openai_base_url"|'openai_base_url')[ \t]*=""")
TABLE_LINE = re.compile(r"^[ \t]*\[")


class SetupError(Exception):
    """The file cannot be edited safely; the message says why and what to do."""


def codex_config_path(env: dict | None = None) -> Path:
    env = os.environ if env is None else env
    home = env.get("CODEX_HOME")
    return (Path(home) if home else Path(env.get("HOME") or Path.home()) / ".codex") / "config.toml"


def _parse(text: str) -> dict | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _top_level_key_lines(lines: list[str]) -> list[int]:
    out = []
    for i, line in enumerate(lines):
        if TABLE_LINE.match(line):
            break
        if KEY_LINE.match(line):
            out.append(i)
    return out


def _tables(name: str, value: dict):
    """(dotted name, table) for a table and every table nested in it."""
    yield name, value
    for k, v in value.items():
        if isinstance(v, dict):
            yield from _tables(f"{name}.{k}", v)


def edit_config(text: str, base_url: str | None) -> tuple[str, list[str]]:
    """The config text with openai_base_url set to base_url (None: removed), and notes for the user.

    Raises SetupError when the file is not TOML (beyond the duplicate key this tool repairs), or
    when the edit would change anything but that key."""
    notes: list[str] = []
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    found = _top_level_key_lines(lines)
    doc = _parse(text)
    if doc is None:
        # `cat >>` run twice: duplicate keys, at the top level or inside the [table] that ended the file.
        anywhere = [i for i, ln in enumerate(lines) if KEY_LINE.match(ln)]
        without = [ln for i, ln in enumerate(lines) if i not in anywhere]
        doc = _parse("".join(without))
        if doc is None or len(anywhere) < 2:
            try:
                tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise SetupError(f"is not valid TOML ({exc}); fix it first (Codex refuses it too)") from None
        notes.append(f"removed {len(anywhere)} duplicate {KEY} lines (lines {', '.join(str(i + 1) for i in anywhere)}; "
                     "Codex refused the file)")
        lines, found = without, []
    tables = [sub for name, value in doc.items() if isinstance(value, dict)
              for sub, v in _tables(name, value) if KEY in v]
    if tables:
        notes.append(f"[{tables[0]}] also has {KEY} (an earlier `cat >>` after that table?); remove it there")
    model_provider = doc.get("model_provider")
    if base_url and model_provider not in (None, "openai"):
        raise SetupError(f"uses model_provider = {json.dumps(model_provider)}, so Codex reads "
                         f"model_providers.{model_provider}.base_url, not {KEY}; set that to {base_url} "
                         "(or remove model_provider)")
    want = {k: v for k, v in doc.items() if k != KEY}
    new_line = f"{KEY} = {json.dumps(base_url)}\n" if base_url else None
    if base_url:
        want[KEY] = base_url

    if doc.get(KEY) == base_url and not notes:
        return text, notes   # already right: keep the file byte for byte

    def candidates():
        if len(found) == 1 and new_line:   # replace in place: the smallest diff
            yield lines[:found[0]] + [new_line] + lines[found[0] + 1:]
        rest = [ln for i, ln in enumerate(lines) if i not in found]
        yield ([new_line] if new_line else []) + rest   # the top of the file is always top level
        if new_line and found:   # a look-alike line inside a multi-line string: leave it be
            yield [new_line] + lines

    for cand in candidates():
        new_text = "".join(cand)
        if _parse(new_text) == want:
            return new_text, notes
    raise SetupError(f"could not change {KEY} without changing anything else; edit it by hand: "
                     f"{KEY} = {json.dumps(base_url)} at the top of the file" if base_url else
                     f"could not remove {KEY} without changing anything else; remove it by hand")


def apply(path: Path, base_url: str | None, dry_run: bool) -> str:
    """Edit path; returns a one-line summary. The previous file is kept as config.toml.bak."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        new_text, notes = edit_config(text, base_url)
    except SetupError as exc:
        raise click.ClickException(f"Codex config {path} {exc}") from None
    what = f"{KEY} = {json.dumps(base_url)}" if base_url else f"no {KEY} (Codex uses api.openai.com)"
    if new_text == text:
        return f"Codex config {path} already has {what}: nothing to change"
    extra = f"; {'; '.join(notes)}" if notes else ""
    if dry_run:
        diff = difflib.unified_diff(text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                    str(path), f"{path} (after kt codex setup)")
        click.echo("".join(diff), nl=False, err=True)
        return f"dry run: {path} would get {what}{extra}; nothing written"
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = ""
    if path.exists():
        bak = path.with_name(path.name + ".bak")
        bak.write_text(text, encoding="utf-8")
        backup = f" (previous file: {bak})"
    tmp = path.with_name(path.name + ".kt-tmp")
    tmp.write_text(new_text, encoding="utf-8")
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)
    return f"Codex config {path}: {what}{extra}{backup}"


def proxy_env(proxy_url: str) -> dict[str, str]:
    """What Codex needs to use the explicit proxy: HTTPS_PROXY and trust in the gateway's CA (Codex
    reads SSL_CERT_FILE or CODEX_CA_CERTIFICATE, not NODE_EXTRA_CA_CERTS)."""
    from .certs import CAError, ensure_bundle, ensure_ca

    try:
        ca = ensure_ca()
    except CAError as exc:
        raise click.ClickException(str(exc)) from None
    bundle = ensure_bundle(ca)
    return {"HTTPS_PROXY": proxy_url, "SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle,
            "CODEX_CA_CERTIFICATE": ca, "NODE_EXTRA_CA_CERTS": ca}


@click.group()
def codex() -> None:
    """Set up Codex CLI to use the gateway."""


@codex.command()
@click.option("--mode", type=click.Choice(["reverse", "proxy"]), default="reverse", show_default=True,
              help="reverse: set openai_base_url to the gateway. proxy: remove it and print the variables "
                   "for the explicit HTTPS proxy (use with eval).")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="The gateway's reverse-mode URL.")
@click.option("--proxy-url", default=DEFAULT_PROXY_URL, show_default=True, help="The gateway's explicit-proxy URL.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Codex config file [default: $CODEX_HOME/config.toml, else ~/.codex/config.toml]")
@click.option("--dry-run", is_flag=True, help="Show the change, write nothing.")
def setup(mode: str, base_url: str, proxy_url: str, config_path: Path | None, dry_run: bool) -> None:
    """Point Codex at the gateway: edits only openai_base_url in Codex's config.toml (idempotent, backup).

    \b
    kt codex setup                      # reverse mode: openai_base_url = "http://127.0.0.1:41002/v1"
    eval "$(kt codex setup --mode proxy)"  # explicit proxy: HTTPS_PROXY + CA trust, no openai_base_url
    """
    path = config_path or codex_config_path()
    if mode == "reverse":
        if not re.match(r"^https?://", base_url):
            raise click.ClickException(f"--base-url {base_url!r}: expected http://HOST:PORT/v1")
        click.echo(apply(path, base_url, dry_run))
        if not dry_run:
            click.echo("Codex sends an API key only when CODEX_API_KEY is set (or after codex login --with-api-key).")
        return
    # proxy mode: stdout is for eval, so the summary goes to stderr.
    click.echo(apply(path, None, dry_run), err=True)
    if dry_run:
        return
    click.echo(f"# Codex through the gateway's explicit proxy ({proxy_url}); trust its CA:")
    for k, v in proxy_env(proxy_url).items():
        click.echo(f"export {k}={v}")


def register(cli: click.Group) -> None:
    cli.add_command(codex)
