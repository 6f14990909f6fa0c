"""mitmdump -s entry for replaying recorded flows offline through the Keeptrusts addon.

    mitmdump -nr tests/flows/codex-sse.mitm -s tests/flows/replay_addon.py -w out.mitm \
        --set keeptrusts_config=policies/codex-cli.yaml --set keeptrusts_audit_db=replay.db

A recorded flow already carries its response, and the addon (like mitmproxy's own addons) leaves
alone flows that something already answered. So the recorded response is set aside while the
request hooks run and put back afterwards, unless the addon answered the request itself (a block).
The package is imported directly: a script named keeptrusts.py would shadow the package when
mitmproxy puts the script's folder on sys.path.
"""
from keeptrusts.addon import Keeptrusts


class SetRecordedResponseAside:
    def requestheaders(self, flow):
        flow.metadata["replay_response"] = flow.response
        flow.response = None


class PutRecordedResponseBack:
    def request(self, flow):
        recorded = flow.metadata.pop("replay_response", None)
        if flow.response is None:
            flow.response = recorded


addons = [SetRecordedResponseAside(), Keeptrusts(), PutRecordedResponseBack()]
