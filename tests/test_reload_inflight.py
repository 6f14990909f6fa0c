"""A config change while the gateway runs: the exchange in flight finishes, the next one obeys the new config."""
from __future__ import annotations

import threading
import time

import openai
import pytest

EMAIL = "priya.raman@northwind-logistics.io"

CONFIG = """\
pack: {{name: reload-demo, version: {version}, enabled: true}}
policies: {{chain: [pii-detector, audit-logger]}}
policy:
  pii-detector: {{action: {action}}}
"""


def wait_until(predicate, timeout=15.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.mark.parametrize("stream", [True, False], ids=["sse", "json"])
def test_in_flight_exchange_survives_a_reload_and_the_next_one_uses_the_new_config(fake_openai, gateway_factory,
                                                                                   tmp_path, stream):
    cfg = tmp_path / "policy-config.yaml"
    cfg.write_text(CONFIG.format(version="0.1.0", action="redact"))
    release = threading.Event()

    def slow_answer(received):
        release.wait(20)   # bounded: the upstream holds the in-flight request until the reload is done
        return "Added the address to CODEOWNERS."

    fake_openai.script = [slow_answer]
    gw = gateway_factory(upstream=fake_openai.url, config=cfg)
    client = openai.OpenAI(base_url=gw.base_url, api_key="sk-client-key", max_retries=0, timeout=30)
    outcome: dict = {}

    def in_flight():
        try:
            prompt = f"Add {EMAIL} to CODEOWNERS"
            if stream:
                events = client.responses.create(model="gpt-5-codex", input=prompt, stream=True)
                outcome["text"] = "".join(e.delta for e in events if e.type == "response.output_text.delta")
            else:
                outcome["text"] = client.responses.create(model="gpt-5-codex", input=prompt).output_text
        except Exception as exc:  # recorded, asserted below
            outcome["error"] = exc

    worker = threading.Thread(target=in_flight)
    worker.start()
    try:
        assert wait_until(lambda: len(fake_openai.requests) >= 1), "the first request never reached the upstream"
        cfg.write_text(CONFIG.format(version="0.2.0", action="block"))
        assert wait_until(lambda: gw.health()["config"] == "reload-demo@0.2.0"), "the gateway did not reload"
        with pytest.raises(openai.APIStatusError) as blocked:
            client.responses.create(model="gpt-5-codex", input=f"Now email {EMAIL}")
        assert blocked.value.status_code == 409 and "pii-detector" in str(blocked.value)
    finally:
        release.set()
        worker.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["text"] == "Added the address to CODEOWNERS."
    assert fake_openai.leaked(EMAIL) == []   # the in-flight request was redacted under the old config
    assert len(fake_openai.requests) == 1    # the blocked one never left the gateway
