"""Encoded payloads: base64, hex, percent-encoding and rot13 that decode to instructions.

Decoder rules only mark candidates; the scanner decodes each one, keeps it when it reads as
text, and scans it again with every rule (a finding in decoded text weighs more: hiding an
instruction in an encoding is itself a signal). Hashes and binary blobs decode to noise and pass.
"""
from ..rule import ANY, DECODER, UNTRUSTED, rules

FAMILY = "encoded_payload"

ANCHORS = {
    "decode_and_follow": r"\b(?:and|then)\s+(?:follow|execute|run|obey|do\s+what\s+it\s+says|perform|carry\s+out|act\s+on|comply\s+with|treat\s+(?:it|them)\s+as)",
}

RULES = rules(FAMILY, [
    # run_chars: the engine reports a run once, where it ends, instead of once per byte.
    # 28 characters hold 21 bytes, about the shortest instruction worth hiding.
    ("base64", 0.0, r"[A-Za-z0-9+/]{28,}={0,2}", DECODER, True, "A-Za-z0-9+/="),
    ("hex", 0.0, r"(?:[0-9a-fA-F]{2}){16,}", DECODER, True, "0-9a-fA-F"),
    ("hex_spaced", 0.0, r"(?:[0-9a-fA-F]{2}[ :,]){12,}[0-9a-fA-F]{2}[ :,]*", DECODER, True, "0-9a-fA-F :,"),
    ("hex_escaped", 0.0, r"(?:\\{1,2}x[0-9a-fA-F]{2}){8,}", DECODER, True, "\\\\x0-9a-fA-F"),
    ("percent", 0.0, r"(?:%[0-9a-fA-F]{2}){10,}", DECODER, True, "%0-9a-fA-F"),
    # rot13 of ignore/disregard/instructions/previous/system prompt/execute/secret/password.
    ("rot13", 0.0, r"\b(?:vtaber|qvfertneq|vafgehpgvbaf?|cerivbhf|flfgrz\s+cebzcg|rkrphgr|frperg|cnffjbeq|sbetrg|cevbe)\b", DECODER),
    ("decode_and_follow", 0.7,
     r"\b(?:decode|decoded|base64\s+-d|base64\s+--decode|atob|b64decode|from\s+base64|rot13|rot-13|from\s+hex|unhex|xxd\s+-r|deobfuscate|decrypt|reverse)\b[^.\n;\"]{0,80}\b(?:and|then)\s+(?:follow|execute|run|obey|do\s+what\s+it\s+says|perform|carry\s+out|act\s+on|comply\s+with|treat\s+(?:it|them)\s+as\s+(?:your\s+)?(?:instructions|commands))\b"),
    ("eval_decoded", 0.45, r"\b(?:eval|exec|Function)\s*\(\s*(?:atob|base64\.b64decode|b64decode|Buffer\.from|bytes\.fromhex|codecs\.decode|unescape|decodeURIComponent)\s*\(", UNTRUSTED),
    ("echo_decode_shell", 0.7, r"\becho\s+[\"']?[A-Za-z0-9+/=]{16,}[\"']?\s*\|\s*base64\s+(?:-d|--decode|-D)\s*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b", UNTRUSTED),
], anchors=ANCHORS)
