"""Property tests: equivalent rewrites of a blocked command stay blocked.

A seed command for each effect category (scripts/corpus/rewrites.py) is rewritten by a random chain
of equivalences: quoting of the command name, variable indirection, eval, wrappers (bash -c, env,
timeout, nohup), interpreters (python -c, node -e, perl -e, ruby -e, awk, vim -c, tar
--checkpoint-action, find -exec, xargs, echo | sh, here-strings, process substitution, base64).
Every result must still be blocked, and with the same kind of effect named in the message.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeptrusts.exchange import Exchange, OutputItem
from keeptrusts.policies.agent_firewall import AgentFirewall
from keeptrusts.policies.base import PolicyContext

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))
import rewrites  # noqa: E402

WS = "/home/dev/project"
FW = AgentFirewall({}, PolicyContext(workspace=WS, extra={"home": "/home/dev"}))
FW.max_actions = FW.max_errors = None

SEEDS = [(cat, s) for cat, seeds in rewrites.SEEDS.items() for s in seeds]


def verdict(cmd: str):
    item = OutputItem("function_call", json.dumps({"cmd": cmd, "workdir": WS}), name="exec_command")
    return FW.output_item(Exchange(api="responses", transport="sse"), item)


@st.composite
def rewritten(draw):
    cat, seed = draw(st.sampled_from(SEEDS))
    homes = rewrites.home_spellings(seed)
    cmd = draw(st.sampled_from([seed] + homes))
    if "|" not in cmd and draw(st.booleans()):
        cmd = draw(st.sampled_from(rewrites.SPELLINGS))(cmd)
    for f in draw(st.lists(st.sampled_from(rewrites.WRAPPERS + rewrites.INTERPRETERS), min_size=1, max_size=2)):
        cmd = f(cmd)
    return cat, seed, cmd


def test_every_seed_is_blocked():
    for cat, seed in SEEDS:
        assert verdict(seed).verdict == "block", (cat, seed)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rewritten())
def test_equivalent_rewrites_stay_blocked(case):
    cat, seed, cmd = case
    v = verdict(cmd)
    assert v.verdict == "block", f"{cat}: {seed!r} rewritten as {cmd!r} -> {v.message}"


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SEEDS), st.sampled_from(rewrites.ALL))
def test_one_rewrite_keeps_the_rule(seed, rewrite):
    """The same rule fires for the seed and for its one-step rewrite: the effect is recognised,
    not some other accident of the new spelling."""
    cat, cmd = seed
    if rewrite in rewrites.SPELLINGS and "|" in cmd:
        return
    before, after = verdict(cmd), verdict(rewrite(cmd))
    assert after.verdict == "block", (cmd, rewrite.__name__, after.message)
    fired = {f.rule for f in after.findings}
    family = FAMILIES.get(before.reason_code, {before.reason_code})
    assert before.reason_code in fired or fired & family, (cmd, rewrite.__name__, before.message, after.message)


# Rules that judge one effect from different angles (a delete of home is also a delete of a system path).
_DELETE = {"recursive-delete-outside-workspace", "delete-system-path", "delete-outside-workspace",
           "find-delete-outside-workspace", "delete-agent-config"}
_FETCH = {"curl-pipe-shell", "run-fetched-code", "decoded-payload-to-shell"}
_CREDS = {"read-credentials", "read-key-material-outside-workspace", "recursive-read-credentials",
          "recursive-copy-credentials", "upload-credentials", "exfiltration-unknown-host"}
_GATEWAY = {"edit-agent-config", "delete-agent-config", "chmod-gateway-files", "delete-outside-workspace",
            "kill-gateway", "signal-gateway", "read-credentials"}
_PERSIST = {"persist-git-config", "persist-scheduled-job", "crontab-edit"}
_KILL = {"kill-every-process"}
FAMILIES = {r: fam for fam in (_DELETE, _FETCH, _CREDS, _GATEWAY | _DELETE, _PERSIST, _KILL) for r in fam}


# ---- apply_patch: the leniencies Codex accepts never hide a path outside the workspace ----------

_INDENT = st.sampled_from(["", " ", "  ", "    ", "\t", " \t"])
_OUTSIDE = st.sampled_from(["/home/dev/.bashrc", "../other/x.py", "/etc/cron.d/job", "/tmp/x.sh",
                            "src/../../escape.py", "/home/dev/.keeptrusts/policy.yaml"])


@st.composite
def patch_outside(draw):
    target = draw(_OUTSIDE)
    kind = draw(st.sampled_from(["add", "move", "delete", "update"]))
    ind = [draw(_INDENT) for _ in range(4)]
    if kind == "add":
        body = [f"{ind[1]}*** Add File: {target}", "+payload"]
    elif kind == "delete":
        body = [f"{ind[1]}*** Delete File: {target}"]
    elif kind == "update":
        body = [f"{ind[1]}*** Update File: {target}", "@@", "-a", "+b"]
    else:   # Move to is only read unindented (as Codex does)
        body = [f"{ind[1]}*** Update File: src/a.py", f"*** Move to: {target}", "@@", "-a", "+b"]
    if draw(st.booleans()):   # an ordinary hunk first, in the workspace
        body = [f"{ind[2]}*** Add File: docs/ok.md", "+fine"] + body
    lines = [f"{ind[0]}*** Begin Patch"] + body + [f"{ind[3]}*** End Patch"]
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(lines) + draw(st.sampled_from(["", eol, eol + "  "]))
    if draw(st.booleans()):
        text = "<<'EOF'\n" + text.strip() + "\nEOF"
    return target, text


@settings(max_examples=200, deadline=None)
@given(patch_outside(), st.sampled_from(["custom", "function", "heredoc", "js"]))
def test_patches_outside_the_workspace_stay_blocked_in_every_form_codex_accepts(case, form):
    target, text = case
    if form == "custom":
        item = OutputItem("custom_tool_call", text, name="apply_patch")
    elif form == "function":
        item = OutputItem("function_call", json.dumps({"input": text}), name="apply_patch")
    elif form == "heredoc":
        body = text if text.startswith("<<") else "<<'EOF'\n" + text.strip() + "\nEOF"
        item = OutputItem("function_call", json.dumps({"cmd": "apply_patch " + body, "workdir": WS}),
                          name="exec_command")
    else:
        item = OutputItem("custom_tool_call", f"await tools.apply_patch({json.dumps(text)});", name="exec")
    v = FW.output_item(Exchange(api="responses", transport="sse"), item)
    assert v.verdict == "block", (form, text, v.message)
