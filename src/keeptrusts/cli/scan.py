"""`kt scan PATH|-`: show what the gateway would redact or block in files or stdin.

Runs pii-detector and code-sanitation exactly as the gateway does (same recognizers, same options
from a policy config) so users can tune their policy, like `detect-secrets scan`.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .. import paths
from ..config import ConfigError, load_config
from ..policies.base import PolicyContext
from ..policies.code_sanitation import CodeSanitation
from ..policies.pii_detector import PiiDetector
from ..redaction import Redactor, load_key
from ..verdicts import BLOCK, FLAG, REDACT

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}
MAX_FILE_BYTES = 5 * 1024 * 1024


def _load_policies(config: str | None) -> list:
    options: dict = {}
    if config:
        if not Path(config).is_file():
            raise click.ClickException(f"{config}: no such policy config; pass an existing file to --policy-config")
        try:
            cfg = load_config(config)
        except ConfigError as exc:
            raise click.ClickException(f"{config}: invalid policy config ({exc.first_line()}); "
                                       f"run `kt policy lint -f {config}` for details")
        except FileNotFoundError:
            raise click.ClickException(f"{config}: no such policy config; pass an existing file to --policy-config")
        options = cfg.policy_options
    key_file = paths.state_dir() / "redaction.key"
    # Same placeholders as the gateway when it has run on this machine; never create a key just to scan.
    key = load_key(paths.state_dir()) if key_file.exists() or os.environ.get("KEEPTRUSTS_REDACTION_KEY") else None
    ctx = PolicyContext(redactor=Redactor(key))
    try:
        return [PiiDetector(options.get("pii-detector", {}), ctx),
                CodeSanitation(options.get("code-sanitation", {}), ctx)]
    except ValueError as exc:
        raise click.ClickException(f"{config}: {exc}")


def _files(target: str) -> list[tuple[str, str]]:
    """(display name, text) for stdin, one file, or every text file under a directory."""
    if target == "-":
        return [("<stdin>", sys.stdin.read())]
    p = Path(target)
    if not p.exists():
        raise click.ClickException(f"{target}: no such file or directory; pass a file, a directory or - for stdin")
    found = [p] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file() and not (set(f.relative_to(p).parts[:-1]) & SKIP_DIRS))
    out = []
    for f in found:
        try:
            if f.stat().st_size > MAX_FILE_BYTES:
                continue
            raw = f.read_bytes()
        except OSError as exc:
            raise click.ClickException(f"{f}: cannot read ({exc.strerror})")
        if b"\0" in raw[:8192]:
            continue  # binary
        out.append((str(f), raw.decode("utf-8", "replace")))
    return out


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def scan_text(policies: list, text: str, name: str = "") -> tuple[list[dict], str]:
    """Findings (with line/column in the original text) and the text as it would go upstream."""
    results = []
    current = text
    edits: list[tuple[int, int, int]] = []   # (start in current text, length there, length in original)
    for pol in policies:
        if name and name != "<stdin>" and pol.allow_paths and pol.path_allowed(name):
            continue
        res = pol.scan(current, "tool_output")
        new_edits = []
        for f in res.findings:
            start = _original_offset(edits, f.start)
            line, col = _line_col(text, start)
            results.append({"type": f.type, "policy": pol.kind, "category": pol.category, "action": f.action,
                            "line": line, "column": col, "placeholder": f.placeholder, "score": f.score,
                            "rule": f.rule})
            if f.placeholder is not None:
                new_edits.append((f.start, f.end - f.start, len(f.placeholder)))
        edits = _compose(edits, new_edits)
        current = res.text
    results.sort(key=lambda r: (r["line"], r["column"]))
    return results, current


def _original_offset(edits: list[tuple[int, int, int]], offset: int) -> int:
    """Map an offset in the edited text back to the original; `edits` are (start, new_len, old_len)."""
    shift = 0
    for start, new_len, old_len in edits:
        if start + new_len <= offset:
            shift += old_len - new_len
        elif start <= offset:
            return start + shift
        else:
            break
    return offset + shift


def _compose(edits: list[tuple[int, int, int]], new: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Express the next policy's replacements (old_len, new_len in its input) against the original."""
    out = list(edits)
    for start, old_len, new_len in sorted(new, reverse=True):  # right to left: earlier starts stay put
        # Positions after this point move by new_len - old_len; record it in edited-text coordinates.
        moved = []
        for s, n, o in out:
            moved.append((s + (new_len - old_len) if s > start else s, n, o))
        out = moved + [(start, new_len, _original_offset(edits, start + old_len) - _original_offset(edits, start))]
    return sorted(out)


@click.command()
@click.argument("target", metavar="PATH|-")
@click.option("--policy-config", "-c", "config", type=click.Path(dir_okay=False),
              help="Use the pii-detector and code-sanitation options of this policy config")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@click.option("--redacted", is_flag=True, help="Print the text as the gateway would forward it (one file or stdin)")
def scan(target: str, config: str | None, as_json: bool, redacted: bool) -> None:
    """Show the secrets and personal data the gateway would redact or block in PATH (file, directory, or - for stdin).

    Exits 1 when anything would be redacted, blocked or flagged, 0 when the input is clean.
    """
    policies = _load_policies(config)
    files = _files(target)
    if redacted and len(files) != 1:
        raise click.ClickException(f"{target}: --redacted needs one file or stdin, got {len(files)} files")
    report: dict[str, list[dict]] = {}
    out_text = ""
    for name, text in files:
        findings, out_text = scan_text(policies, text, name)
        if findings:
            report[name] = findings
    total = sum(len(v) for v in report.values())
    if redacted:
        click.echo(out_text, nl=False)
    elif as_json:
        by_type: dict[str, int] = {}
        for items in report.values():
            for r in items:
                by_type[r["type"]] = by_type.get(r["type"], 0) + 1
        click.echo(json.dumps({"results": report, "summary": {"files_scanned": len(files), "findings": total,
                                                              "by_type": by_type}}, indent=2))
    else:
        verb = {REDACT: "redact", BLOCK: "BLOCK", FLAG: "warn"}
        for name, items in report.items():
            for r in items:
                what = r["placeholder"] or ""
                click.echo(f"{name}:{r['line']}:{r['column']}: {verb.get(r['action'], r['action'])} "
                           f"{r['type']} ({r['policy']}) {what}".rstrip())
        click.echo(f"{total} finding(s) in {len(report)} of {len(files)} file(s)", err=True)
    sys.exit(1 if total else 0)


def register(cli: click.Group) -> None:
    cli.add_command(scan)
