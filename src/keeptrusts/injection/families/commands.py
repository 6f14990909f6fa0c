"""Requests inside data to run commands or move data: the agent is the tool the attacker aims.

These count only in tool outputs (a user may well ask the agent to run `curl | sh`); a README's
"run the following command to install" alone weighs little, and gains weight with the stealth,
secret-file or AI-addressing signals next to it.
"""
from dataclasses import replace

from ..rule import UNTRUSTED, rules

FAMILY = "embedded_command"

# Secrets in a home directory: private keys (not `.pub`), cloud and registry credentials.
_HOME = r"(?:~|\$HOME|\$\{HOME\}|/home/[\w.-]+|/root|%USERPROFILE%)/"
_HOME_SECRETS = (_HOME + r"\.(?:cursor/mcp\.json|config/[\w.-]+/(?:credentials|auth|token)[\w.-]*|ssh/(?:id_\w+(?![.\w])|\*)|ssh(?![\w./-])|ssh/(?![\w.-])|aws/credentials|aws(?![\w./-])|aws/(?![\w.-])|gnupg|netrc|npmrc|pypirc"
                 r"|kube/config|config/gh/hosts|git-credentials|docker/config\.json|bash_history|zsh_history|codex/auth\.json)")
_SECRET_FILES = (_HOME_SECRETS + r"|\bid_(?:rsa|ed25519|ecdsa|dsa)(?![.\w])|\.aws/credentials|\.git-credentials|/etc/shadow"
                 r"|\bauth\.json\b")
# The same for Hyperscan (no lookaround): a superset, confirmed by the pattern above.
_SECRET_FILES_ANCHOR = (r"(?:~|\$HOME|\$\{HOME\}|/home/[\w.-]+|/root|%USERPROFILE%)/\.(?:cursor|config/[\w.-]+/(?:credentials|auth|token)|ssh|aws|gnupg|netrc|npmrc|pypirc|kube|config/gh|git-credentials|docker|bash_history|zsh_history|codex)"
                        r"|\bid_(?:rsa|ed25519|ecdsa|dsa)|\.aws/credentials|\.git-credentials|/etc/shadow|\bauth\.json")

ANCHORS = {
    "run_cmd_quietly": r"`\s+(?:silently|quietly|secretly|covertly|discreetly|in\s+the\s+background|without\s)",
    "print_secret_var": r"[A-Z0-9]_[A-Z0-9_]*(?:KEY|SECRET|TOKEN|PASSWORD)\b",
    "pipe_to_shell": r"\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|sh\s+-c\s+[\"']\$\((?:curl|wget)\s",
    "run_this_addressed": r"(?:run|execute|exec|invoke|call)\s+(?:the\s+following|this|these)\s+(?:(?:shell|bash|terminal|powershell|python)\s+)?(?:command|script|code|snippet|one-liner)",
    "before_answering_do": r"\b(?:before|prior\s+to|after|instead\s+of|rather\s+than)\s+(?:you\s+)?(?:answering|responding|replying|continuing|summari[sz]ing|completing|finishing|proceeding|answer|respond|reply|continue|summari[sz]e|doing\s+anything\s+else|anything\s+else)\b",
    "read_secret_file": _SECRET_FILES_ANCHOR,
    "ask_secret_file": _SECRET_FILES_ANCHOR,
    "send_secrets": r"\b(?:to|at|into|via)\s+(?:https?://|ftp://|[\w.+-]+@[\w-]+\.|[\w.-]+\.(?:com|net|org|io|xyz|site|app|dev|ru|cn|tk|top|me|sh|co)\b|the\s+(?:following|this|attacker|remote|external)\s+(?:url|server|endpoint|address|webhook|host|email)|(?:my|our|this)\s+(?:server|webhook|endpoint|email))",
    "push_code_out": r"\b(?:branch|repo|repository|codebase|source|project|workspace|commits?|code)\s+(?:[\w-]+\s+){0,3}to\s+(?:https?://|git@|ssh://)",
    "grant_access_plain": r"\b(?:grant|give|add|invite)\s+(?:the\s+)?\S+\s+(?:as\s+an?\s+)?(?:admin|administrator|owner|maintainer|write|push|collaborator)",
    "download_exec": r"(?:&&|;)\s*(?:sudo\s+)?(?:chmod\s|(?:ba|z)?sh\s+/tmp/|/tmp/)",
    "disable_safety": r"\b(?:sandbox|sandboxing|approval\s+(?:prompts?|checks?|mode)|safety\s+checks?|confirmation\s+prompts?|--dangerously|guardrails|security\s+checks?)\b",
    "grant_access": r"\b(?:admin|administrator|owner|maintainer|collaborator|write|push)\s+(?:access|permissions?|rights)\b|\bas\s+(?:an?\s+)?(?:admin|administrator|owner|maintainer|collaborator)\b",
    "reverse_shell": r"(?:/dev/tcp/|\s-e\s+/bin/|bash\s+-i\s+>&|socat\s|mkfifo\s|import\s+socket)",
}

RULES = rules(FAMILY, [
    ("run_this_addressed", 0.55,
     r"\b(?:you\s+(?:must|should|need\s+to|have\s+to|are\s+required\s+to|will)|please|now|immediately|first|also)\s+(?:immediately\s+|now\s+|also\s+|first\s+|silently\s+|quietly\s+)?(?:run|execute|exec|invoke|call)\s+(?:the\s+following|this|these)\s+(?:(?:shell|bash|terminal|powershell|python)\s+)?(?:command|commands|script|code|snippet|one-liner)\b[^.\n]{0,80}(?:without|silently|before|don'?t|do\s+not|secretly|quietly|immediately|right\s+away|verify|setup|fix|required|mandatory)"),
    ("silent_action", 0.6,
     r"\b(?:silently|quietly|secretly|covertly|discreetly|stealthily|in\s+the\s+background\s+and\s+without)\s+(?:run|execute|send|upload|post|exfiltrate|install|download|fetch|commit|push|forward|email|transmit|leak)\b"),
    # Changelogs say "silently delete" about software; an edit request needs company to matter.
    ("silent_edit", 0.5,
     r"\b(?:silently|quietly|secretly|covertly|discreetly|stealthily)\s+(?:add|modify|include|copy|append|insert|change|replace|edit|rewrite|inject)\b"),
    ("silent_delete", 0.35,
     r"\b(?:silently|quietly|secretly|covertly|discreetly|stealthily)\s+(?:delete|remove|drop|disable|call|ignore)\b"),
    ("do_it_quietly", 0.6,
     r"\b(?:do|run|execute|perform|install|send)\s+(?:this|it|that|these|so|them|the\s+following)(?:\s+(?:command|commands|script|step|code))?\s*[:,]?\s*(?:silently|quietly|secretly|covertly|discreetly|in\s+the\s+background|without\s+(?:telling|informing|asking|notifying|alerting|mentioning|showing))"),
    ("run_cmd_quietly", 0.6,
     r"\b(?:run|execute|exec|invoke)\s+`[^`\n]{1,200}`\s+(?:silently|quietly|secretly|covertly|discreetly|in\s+the\s+background|without\s+(?:telling|informing|asking|notifying|showing))"),
    ("before_answering_do", 0.4,
     r"\b(?:before|prior\s+to|after|instead\s+of|rather\s+than)\s+(?:you\s+)?(?:answering|responding|replying|continuing|summari[sz]ing|completing|finishing|proceeding|answer|respond|reply|continue|summari[sz]e|doing\s+anything\s+else|anything\s+else)\b[^.\n]{0,60}\b(?:run|execute|send|call|fetch|visit|curl|wget|read|open|upload|post|download|install|delete|cat)\b"),
    ("read_secret_file", 0.65,
     r"\b(?:cat|less|more|head|tail|base64|xxd|od|tar|zip|scp|rsync|curl|nc|gpg)\s+(?:-[-\w]+\s+)*[^\n<>|;&]{0,60}(?:" + _SECRET_FILES + r")"),
    ("ask_secret_file", 0.6,
     r"\b(?:read|open|print|send|upload|post|include|attach|paste|show|output|dump|copy|share|leak|exfiltrate)\s+(?:the\s+)?(?:contents?\s+of\s+|file\s+)?[^\n<>]{0,30}(?:" + _HOME_SECRETS + r"|\bid_(?:rsa|ed25519|ecdsa)(?![.\w])|\.aws/credentials|/etc/shadow)"),
    ("send_secrets", 0.7,
     r"\b(?:send|post|upload|exfiltrate|forward|transmit|email|leak|share|submit|report|copy|transfer|pipe|paste)\b[^.\n]{0,60}(?:\.env\b|\b(?:api[ _-]?keys?|credentials|secrets?|tokens?|passwords?|private\s+keys?|ssh\s+keys?|env(?:ironment)?\s+variables|env\s+vars|id_rsa|cookies|session\s+tokens?|auth(?:orization)?\s+headers?|access\s+keys?|conversation|chat\s+history|system\s+prompt)\b)[^\n]{0,60}\b(?:to|at|into|via)\s+(?:https?://|ftp://|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|[\w.-]+\.(?:com|net|org|io|xyz|site|app|dev|ru|cn|tk|top|me|sh|co)\b|the\s+(?:following|this|attacker|remote|external)\s+(?:url|server|endpoint|address|webhook|host|email)|(?:my|our|this)\s+(?:server|webhook|endpoint|email))"),
    ("pipe_to_shell", 0.25,
     r"\b(?:curl|wget|iwr|Invoke-WebRequest|fetch)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|\b(?:ba|z)?sh\s+-c\s+[\"']\$\((?:curl|wget)\s"),
    ("reverse_shell", 0.65,
     r"(?:/dev/tcp/[\w.-]+/\d+|\bnc(?:at)?\s+(?:-\w+\s+)*-e\s+/bin/(?:ba)?sh|\bbash\s+-i\s+>&|\bsocat\s+[^\n]{0,80}exec:|\bmkfifo\s+/tmp/\w+;\s*nc\b|python[23]?\s+-c\s+['\"]import\s+socket,\s*subprocess)"),
    ("push_code_out", 0.45,
     r"\b(?:push|upload|sync|mirror|copy|send|exfiltrate)\s+(?:the\s+|this\s+|your\s+)?(?:current\s+|whole\s+|entire\s+|full\s+|private\s+)?(?:branch|repo|repository|codebase|source\s+code|source|project|workspace|commits?|code)\s+(?:[\w-]+\s+){0,3}?to\s+(?:https?://|git@|ssh://)(?!github\.com/(?:[\w-]+/)?(?:fork|your))"),
    ("print_secret_var", 0.5,
     r"\b(?:[Pp]rint|PRINT|[Oo]utput|[Ss]how|[Rr]eveal|[Dd]isplay|[Ss]end|[Ss]hare|[Pp]aste|[Pp]ost|[Ll]eak|[Dd]ump|[Ee]xfiltrate)\s+(?:me\s+|us\s+)?(?:the\s+|your\s+)?(?:values?\s+of\s+|contents?\s+of\s+)?(?:the\s+)?\$?\{?[A-Z][A-Z0-9]*_[A-Z0-9_]*(?:KEY|SECRET|TOKEN|PASSWORD)\b",
     UNTRUSTED, True),
    ("insert_code", 0.3,
     r"\b(?:insert|add|append|inject|put|paste)\s+(?:the\s+following|this)\s+(?:line|code|snippet|import|statement|call)s?\s+(?:in|into|to|at\s+the\s+top\s+of)\s+[\w./-]+\.(?:py|js|ts|sh|toml|json|cfg|yml|yaml|rb|go)\b"),
    ("execute_code_below", 0.3, r"\b(?:execute|run|eval)\s+(?:the\s+|this\s+)?(?:code|script|command|snippet)s?\s+(?:below|above|that\s+follows)\b"),
    ("grant_access_plain", 0.35,
     r"\b(?:grant|give|add|invite)\s+(?:the\s+)?(?:reporter|user|author|requester|contributor|them|him|her|[\w-]+)\s+(?:as\s+an?\s+)?(?:admin|administrator|owner|maintainer|write|push|collaborator)\s*(?:access|permissions?|rights|role)?\b"),
    ("download_exec", 0.45,
     r"\b(?:curl|wget)\s[^\n|]{0,150}(?:-o\s*|-O\s*|>\s*)/tmp/\S+\s*(?:&&|;)\s*(?:sudo\s+)?(?:chmod\s+\+?[x0-7]+\s+\S+\s*(?:&&|;)\s*)?(?:(?:ba|z)?sh\s+)?/tmp/"),
    ("persist_ssh_key", 0.4, r">>\s*(?:~|\$HOME|/root|/home/[\w.-]+)/\.ssh/authorized_keys\b"),
    ("disable_safety", 0.6,
     r"\b(?:disable|turn\s+off|skip|bypass|remove)\s+(?:the\s+)?(?:sandbox|sandboxing|approval\s+(?:prompts?|checks?|mode)|safety\s+checks?|confirmation\s+prompts?|--dangerously|guardrails|security\s+checks?)\b[^.\n]{0,40}\b(?:and|then|before|to)\s+(?:run|execute|install|delete|send)"),
    ("grant_access", 0.55,
     r"\b(?:add|grant|give|invite)\s+[^.\n]{0,40}\b(?:as\s+(?:an?\s+)?(?:admin|administrator|owner|maintainer|collaborator)|(?:admin|write|owner|push)\s+(?:access|permissions?|rights))\b[^.\n]{0,60}\b(?:without|silently|quietly|immediately|do\s+not\s+tell)"),
], UNTRUSTED, anchors=ANCHORS)

# Matches of these rules are short: the engine confirms them in a window this wide around the anchor.
_WINDOWS = {"send_secrets": 400, "print_secret_var": 400, "read_secret_file": 400, "ask_secret_file": 400}
RULES = [replace(r, window=_WINDOWS[r.id.split(".", 1)[1]]) if r.id.split(".", 1)[1] in _WINDOWS else r for r in RULES]
