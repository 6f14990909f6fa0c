"""quality-scorer: a local, deterministic score for each completion."""
from __future__ import annotations

import json

import pytest

from keeptrusts.exchange import TOOL_OUTPUT, Completion, Exchange, OutputItem, Segment
from keeptrusts.policies.quality_scorer import QualityScorer

FILE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def exchange(*items: OutputItem, finish="stop", status="completed", shown: str | None = None) -> Exchange:
    segs = []
    if shown is not None:
        segs.append(Segment(("input", 3, "output"), TOOL_OUTPUT, shown, tool_name="exec_command"))
    return Exchange(api="responses", transport="sse", segments=segs,
                    completion=Completion(list(items), finish_reason=finish, status=status))


def msg(text: str) -> OutputItem:
    return OutputItem("message", text)


def patch(body: str) -> OutputItem:
    return OutputItem("custom_tool_call", "*** Begin Patch\n" + body + "\n*** End Patch", name="apply_patch")


def test_a_good_answer_scores_one_and_passes():
    v = QualityScorer({}).response(exchange(msg("Done. Here is the fix:\n```python\nprint('ok')\n```")))
    assert v.verdict == "allow" and v.score == 1.0


def test_truncated_output_is_flagged():
    v = QualityScorer({}).response(exchange(msg("Here is the long answer that was cut"), finish="length"))
    assert v.verdict == "flag" and v.score < 0.7
    assert "complete" in v.message and v.findings[0].type == "complete"


def test_refusal_is_flagged():
    v = QualityScorer({}).response(exchange(msg("I'm sorry, but I can't help with that.")))
    assert v.verdict == "flag" and any(f.type == "answered" for f in v.findings)
    assert QualityScorer({}).response(exchange(msg("I can't reproduce the bug yet; here is what I tried..."))).verdict == "allow"


def test_code_that_does_not_parse_lowers_the_score():
    text = "Fixed:\n```python\ndef f(:\n    return 1\n```\nand\n```json\n{\"a\": 1}\n```"
    v = QualityScorer({}).response(exchange(msg(text)))
    assert v.score == pytest.approx((1 + 1 + 0.5) / 3, abs=0.01)
    assert QualityScorer({"thresholds": {"min_code_parses": 1.0}}).response(exchange(msg(text))).verdict == "flag"


def test_added_python_file_must_parse():
    v = QualityScorer({}).response(exchange(patch("*** Add File: src/new.py\n+def broken(:\n+    pass")))
    assert any(f.type == "code_parses" and "src/new.py" in f.evidence for f in v.findings)
    ok = QualityScorer({}).response(exchange(patch("*** Add File: src/new.py\n+def fine():\n+    pass")))
    assert ok.score == 1.0


def test_patch_that_matches_the_file_shown_applies():
    shown = "Process exited with code 0\nOutput:\n" + FILE
    good = patch("*** Update File: calc.py\n@@\n def sub(a, b):\n-    return a - b\n+    return a - b  # ok")
    assert QualityScorer({}).response(exchange(good, shown=shown)).score == 1.0


def test_patch_that_does_not_match_the_file_shown_is_flagged():
    shown = "\n".join(f"{i + 1:6}\t{line}" for i, line in enumerate(FILE.splitlines()))   # `nl -ba` output
    bad = patch("*** Update File: calc.py\n@@\n def sub(a, b):\n-    return b - a\n+    return a - b")
    v = QualityScorer({}).response(exchange(bad, shown=shown))
    assert v.verdict == "flag" and any(f.type == "patch_applies" for f in v.findings)


def test_patch_for_a_file_never_shown_is_not_judged():
    unseen = patch("*** Update File: other.py\n@@\n-x = 1\n+x = 2")
    v = QualityScorer({}).response(exchange(unseen, shown="some unrelated output\n"))
    assert v.score == 1.0 and not any(f.type == "patch_applies" for f in v.findings)


def test_patch_inside_codex_exec_js_is_scored_too():
    js = "await tools.apply_patch(`*** Begin Patch\n*** Add File: a.py\n+def (:\n*** End Patch`)"
    v = QualityScorer({}).response(exchange(OutputItem("custom_tool_call", js, name="exec")))
    assert any(f.type == "code_parses" for f in v.findings)


def test_min_output_chars_and_sentences_apply_to_final_answers_only():
    q = QualityScorer({"min_output_chars": 50, "min_sentences": 2})
    assert q.response(exchange(msg("Done."))).verdict == "flag"
    call = OutputItem("function_call", json.dumps({"cmd": "ls"}), name="exec_command")
    assert q.response(exchange(msg("ok"), call)).verdict == "allow"


def test_assertions_enforce_audit_and_llm_types():
    q = QualityScorer({"assertions": [
        {"type": "contains", "value": "Summary", "name": "has-summary"},
        {"type": "regex", "value": r"TODO", "negate": True, "mode": "audit", "name": "no-todo"},
        {"type": "llm-rubric", "value": "is helpful", "name": "helpful"},
    ]})
    v = q.response(exchange(msg("Summary: all tests pass.")))
    assert v.verdict == "allow"
    assert any(f.type == "assertion_skipped" and f.rule == "helpful" for f in v.findings)
    v = q.response(exchange(msg("All tests pass. TODO: docs")))
    assert v.verdict == "flag" and "failed assertions: has-summary" in v.message
    assert any(f.type == "assertion_failed_audit" and f.rule == "no-todo" for f in v.findings)


def test_failure_action_block_and_custom_threshold_and_weights():
    ex = exchange(msg("I'm sorry, but I can't help with that."))
    v = QualityScorer({"failure_action": {"action": "block"}}).response(ex)
    assert v.verdict == "block" and v.message.startswith("Blocked by keeptrusts quality-scorer: score 0.50 < 0.70")
    assert QualityScorer({"thresholds": {"min_aggregate": 0.4}}).response(ex).verdict == "allow"
    assert QualityScorer({"weights": {"answered": 0}}).response(ex).score == 1.0


def test_no_completion_no_score():
    v = QualityScorer({}).response(Exchange(api="responses", transport="sse"))
    assert v.verdict == "allow" and v.score is None


def test_a_refusal_item_counts_as_a_refusal():
    v = QualityScorer({}).response(exchange(OutputItem("refusal", "I can't assist with that request.")))
    assert v.verdict == "flag" and any(f.type == "answered" for f in v.findings)


def test_a_bad_assertion_regex_is_a_config_error():
    with pytest.raises(ValueError, match=r"assertions\[0\]: bad regex"):
        QualityScorer({"assertions": [{"type": "regex", "value": "("}]})
