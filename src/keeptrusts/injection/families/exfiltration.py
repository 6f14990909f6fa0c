"""Exfiltration: data smuggled out in URLs the model renders or fetches, or sent by curl.

A markdown badge with `?style=flat` is ordinary; an image whose query carries a placeholder for
the conversation, a secret or "the data" is the classic markdown-image leak.
"""
from dataclasses import replace

from ..rule import ANY, UNTRUSTED, rules

FAMILY = "exfiltration"

_DATA_WORDS = (r"(?:secret|key|token|password|passwd|pwd|data|conversation|history|chat|context|summary|message|prompt"
               r"|env|credential|creds|code|repo|file|info|content|answer|response|output|cookie|session|ssh|email|user|q|query|payload|text|input|result)")
_PLACEHOLDER = (r"(?:\$\(|(?:\{\{?|\$\{?|<|%7B|%3C|\[|%5B|\()\s*[\w .-]{0,40}?" + _DATA_WORDS
                + r"|(?:(?<==)|=)[A-Z_]{0,20}(?:INSERT|PASTE|REPLACE|FILL|SECRET|TOKEN|CHAT|HISTORY|CONVERSATION|SUMMARY|PASSWORD|CONTEXT|MESSAGES|DATA|EMAIL|INFO|ANSWER|QUERY|INPUT|CONTENT)[A-Z_]*)")
_EXFIL_HOSTS = (r"(?:webhook\.site|requestbin\.(?:com|net)|pipedream\.net|ngrok(?:-free)?\.(?:io|app|dev)|ngrok\.io|burpcollaborator\.net"
                r"|oastify\.com|interact\.sh|oast\.(?:fun|pro|live|site|online|me)|requestcatcher\.com|hookbin\.com|beeceptor\.com"
                r"|canarytokens\.(?:com|org)|pastebin\.com/api|transfer\.sh|0x0\.st|trycloudflare\.com|serveo\.net|loca\.lt"
                r"|localtunnel\.me|postb\.in|ptsv2\.com|mockbin\.(?:org|io)|hookdeck\.com|dnslog\.cn|ceye\.io)")

ANCHORS = {
    "followed_by_secret": r"\s+of\s+(?:the\s+|your\s+|their\s+)?(?:\.env|env|environment|secrets?|credentials|api\s+keys?|tokens?|ssh|private|password|cookies?|session|conversation|chat|~/\.ssh|\.aws)",
    "code_sends_env": r"(?:urlopen|requests\.(?:get|post|put)|httpx\.(?:get|post)|http\.client|fetch\s*\(|XMLHttpRequest|sendBeacon|axios\.(?:get|post)|Invoke-WebRequest)",
    "url_placeholder": r"[?&][\w-]+=(?:<|\{|\[|%3C|%7B)",
    "markdown_image_exfil_host": _EXFIL_HOSTS,
    "env_dump_to_network": r"\|\s*(?:curl|wget|nc|ncat|base64)\b",
    "dns_exfil": r"\$\(\s*(?:cat|whoami|hostname|env|printenv|base64)\b",
    "markdown_image_data": r"!\[[^\]\n]*\]\(\s*<?https?://[^)\s]*[?&#/=]",
    "html_img_data": r"<img\b[^>\n]*\bsrc\s*=\s*[\"']?\s?https?://[^\"'\s>]*[?&]",
    "link_with_data": r"\]\(\s*https?://[^)\s]*[?&][\w-]+=",
    "render_image_instruction": r"\b(?:image|img|picture|pixel|link|url|badge|icon|banner|logo)\b[^.\n]*\b(?:replac|substitut|fill|append|encod|put|insert|contain|includ|with\s+the)",
    "curl_with_secret": r"\b(?:curl|wget|http|https|Invoke-WebRequest|iwr|Invoke-RestMethod|irm|nc|ncat|fetch)\s[^\n]*(?:\$\(|`|\$\{?(?:env:)?[A-Z_]*(?:API_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS|PRIVATE_KEY)|-d[\s=]|--data|-F[\s=]|--form|-T[\s=]|--upload-file|--post-file|--post-data|--body-file|-InFile)",
    "url_query_secret_var": r"[?&][\w-]+=\$(?:\{|\()?\s*(?:[A-Z_]*(?:KEY|TOKEN|SECRET|PASS|PASSWORD|CRED)|cat\b|env\b|printenv\b|whoami\b|base64\b)",
}

RULES = rules(FAMILY, [
    ("markdown_image_data", 0.75,
     r"!\[[^\]\n]{0,100}\]\(\s*<?https?://[^)\s]{1,200}[?&#/=][^)\s]{0,200}?" + _PLACEHOLDER),
    ("markdown_image_exfil_host", 0.75, r"!\[[^\]\n]{0,100}\]\(\s*<?https?://(?:[\w-]+\.)*" + _EXFIL_HOSTS),
    ("html_img_data", 0.7,
     r"<img\b[^>\n]{0,100}\bsrc\s*=\s*[\"']?\s?https?://[^\"'\s>]{1,200}[?&][^\"'\s>]{0,200}?" + _PLACEHOLDER),
    ("link_with_data", 0.55,
     r"\[[^\]\n]{1,100}\]\(\s*https?://[^)\s]{1,200}[?&][\w-]{1,30}=[^)\s]{0,200}?" + _PLACEHOLDER, UNTRUSTED),
    ("render_image_instruction", 0.65,
     r"\b(?:render|display|include|show|embed|output|append|add|insert|print|create|make|generate|write|end\s+(?:your|each|every)\s+(?:response|reply|answer|message)\s+with)\b[^.\n]{0,60}\b(?:markdown\s+)?(?:image|img|picture|pixel|link|url|badge|icon|banner|logo)\b[^.\n]{0,120}\b(?:replac|substitut|fill|append|encod|put|insert|contain|includ|with\s+the)\w*[^.\n]{0,80}\b(?:user|conversation|chat|history|secret|key|token|password|previous\s+messages|data|context|summary|env|credentials)"),
    ("url_placeholder", 0.65,
     r"https?://[^\s<>\"']{1,200}[?&][\w-]{1,30}=(?:<|\{\{?|\[|%3C|%7B)\s*(?:paste|insert|put|add|include|your|the|user'?s?|current)?\s*(?:the\s+|your\s+|user'?s?\s+)?[\w ]{0,30}?(?:cookie|session|token|secret|key|password|credentials?|conversation|chat|history|data|summary|email|address)",
     UNTRUSTED),
    ("followed_by_secret", 0.6,
     r"\b(?:followed\s+by|append(?:ed)?|with|plus|concatenated\s+with|add)\s+(?:the\s+)?(?:base64|hex|url-?encoded|contents?|value|text)\s+of\s+(?:the\s+|your\s+|their\s+)?(?:\.env|env(?:ironment)?|secrets?|credentials|api\s+keys?|tokens?|ssh\s+keys?|private\s+keys?|password|cookies?|session|conversation|chat\s+history|~/\.ssh|\.aws)",
     UNTRUSTED),
    ("code_sends_env", 0.6,
     r"(?:urlopen|requests\.(?:get|post|put)|httpx\.(?:get|post)|http\.client|fetch\s*\(|XMLHttpRequest|sendBeacon|axios\.(?:get|post)|Invoke-WebRequest)[^\n]{0,160}(?:os\.environ|process\.env|document\.cookie|localStorage|sessionStorage|\$env:)"
     r"|(?:os\.environ|process\.env|document\.cookie|localStorage)[^\n]{0,160}(?:urlopen|requests\.(?:get|post|put)|fetch\s*\(|sendBeacon|axios\.(?:get|post))"),
    ("exfil_host", 0.5, r"\bhttps?://(?:[\w-]+\.)*" + _EXFIL_HOSTS, UNTRUSTED),
    ("curl_with_secret", 0.7,
     r"\b(?:curl|wget|http|https|Invoke-WebRequest|iwr|Invoke-RestMethod|irm|nc|ncat|fetch)\s[^\n]{0,200}(?:\$\(\s*(?:cat|env|printenv|whoami|hostname|base64|git\s+config|history|ls)\b|`(?:cat|env|printenv|whoami|base64)\b|\$\{?(?:env:)?[A-Z_]*(?:API_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS|PRIVATE_KEY|AWS_SECRET_ACCESS_KEY)\}?\b[^\n]{0,10}(?:https?://|[\"']?\s*$|\s+-X)|(?:-d|--data(?:-binary|-raw|-urlencode)?|-F|--form|-T|--upload-file|--post-file|--post-data|--body-file|-InFile)(?:\s+|=)[\"']?(?:[\w-]+=)?@?[^\s\"']*(?:\.env\b|id_rsa|id_ed25519|\.ssh/|credentials|\.netrc|\.npmrc|\.pypirc|\.git-credentials|auth\.json|/etc/passwd|/etc/shadow))"),
    ("url_query_secret_var", 0.7,
     r"https?://[^\s\"'<>)]{1,200}[?&][\w-]{1,30}=\$(?:\{|\()?\s*(?:[A-Z_]*(?:KEY|TOKEN|SECRET|PASS|PASSWORD|CRED)[A-Z_]*|cat\b|env\b|printenv\b|whoami\b|base64\b)"),
    ("env_dump_to_network", 0.7,
     r"\b(?:env|printenv|set|cat\s+[^\n|]{0,40}\.env\b|cat\s+~?/?\S*\.ssh/\S+|history|git\s+config\s+--list)\s*\|\s*(?:curl|wget|nc|ncat|base64\s*\|\s*(?:curl|wget|nc))\b"),
    ("dns_exfil", 0.6, r"\b(?:nslookup|dig|host|ping)\s+[^\n]{0,40}\$\(\s*(?:cat|whoami|hostname|env|printenv|base64)\b"),
], anchors=ANCHORS)

# Images and links that carry data leak when rendered, quoted or not.
_UNQUOTABLE = {"markdown_image_data", "markdown_image_exfil_host", "html_img_data", "link_with_data"}
RULES = [replace(r, quotable=False) if r.id.split(".", 1)[1] in _UNQUOTABLE else r for r in RULES]

# Matches of these rules are short: the engine confirms them in a window this wide around the anchor.
_WINDOWS = {"code_sends_env": 400, "curl_with_secret": 400, "env_dump_to_network": 400}
RULES = [replace(r, window=_WINDOWS[r.id.split(".", 1)[1]]) if r.id.split(".", 1)[1] in _WINDOWS else r for r in RULES]
