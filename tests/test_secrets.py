"""code-sanitation: secrets found and replaced in place; look-alikes in ordinary code left alone."""
from __future__ import annotations

import ast
import base64
import hashlib
import json
import random
import zlib

import sys
from pathlib import Path

import pytest

from keeptrusts.config import ConfigError, parse_config
from keeptrusts.exchange import Exchange, OutputItem, Segment
from keeptrusts.policies.base import PolicyContext
from keeptrusts.policies.code_sanitation import CodeSanitation
from keeptrusts.redaction import PLACEHOLDER_RE, Redactor
from keeptrusts.recognizers.checks import BASE62

KEY = b"k" * 32


def policy(**options) -> CodeSanitation:
    return CodeSanitation(options, PolicyContext(redactor=Redactor(KEY)))


def redact(text: str, **options) -> tuple[str, list]:
    res = policy(**options).scan(text, "tool_output")
    return res.text, res.findings


def gh_token(body: str = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy") -> str:
    n = zlib.crc32(body.encode())
    cs = ""
    while n:
        n, r = divmod(n, 62)
        cs = BASE62[r] + cs
    return "ghp_" + body + cs.rjust(6, "0")


def jwt() -> str:
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': '1234567', 'iat': 1700000000})}.Q2hhbmdlVGhpc1NpZ25hdHVyZTEyMw"


PEM_BODY = base64.b64encode(random.Random(1).randbytes(300)).decode()
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY[i:i + 64] for i in range(0, len(PEM_BODY), 64)) + \
      "\n-----END RSA PRIVATE KEY-----"

# (type, line, secret value): every documented format, in the line a developer would write.
POSITIVES = [
    ("aws_access_key_id", 'AWS_ACCESS_KEY_ID = "AKIAZ7VQ3XJ5L2PQRS4T"', "AKIAZ7VQ3XJ5L2PQRS4T"),
    ("aws_secret_access_key", 'aws_secret_access_key = "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"',
     "Zx8fP2kqL9vB3nR7tY1uW5eA0sD4gH6jK8lM2nQ4"),
    ("github_token", f'token = "{gh_token()}"', gh_token()),
    ("github_token", "gh = Github('github_pat_11ABCDEFG0123456789abc_" + "Xy" * 29 + "Z')",
     "github_pat_11ABCDEFG0123456789abc_" + "Xy" * 29 + "Z"),
    ("openai_api_key", 'OpenAI(api_key="sk-proj-' + "aB3dE6" * 8 + 'T3BlbkFJ' + "Qr5sT8" * 6 + '")',
     "sk-proj-" + "aB3dE6" * 8 + "T3BlbkFJ" + "Qr5sT8" * 6),
    ("anthropic_api_key", "key = 'sk-ant-api03-" + "Zq9_Kx2-Lm7P" * 8 + "AA'", "sk-ant-api03-" + "Zq9_Kx2-Lm7P" * 8 + "AA"),
    ("slack_token", "WebClient(token='xoxb-123456789012-1234567890123-Ab3dEf6hIj9kLm2nOp5qRs8t')",
     "xoxb-123456789012-1234567890123-Ab3dEf6hIj9kLm2nOp5qRs8t"),
    ("stripe_api_key", "stripe.api_key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("google_api_key", 'apiKey: "AIzaSyD3fG7hJ9kL2mN4pQ6rS8tU0vW2xY4zA6b"', "AIzaSyD3fG7hJ9kL2mN4pQ6rS8tU0vW2xY4zA6b"),
    ("npm_token", "//registry.npmjs.org/:_authToken=npm_" + gh_token()[4:], "npm_" + gh_token()[4:]),
    ("gitlab_token", "private_token='glpat-x7Yz_Ab3dEf6hIj9kLm2'", "glpat-x7Yz_Ab3dEf6hIj9kLm2"),
    ("sendgrid_api_key", "sgMail.setApiKey('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')",
     "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"),
    ("huggingface_token", "login(token='hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh')", "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"),
    ("twilio_api_key", "Client('SK0123456789abcdef0123456789abcdef', secret)", "SK0123456789abcdef0123456789abcdef"),
    ("azure_key", "conn='DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "Ab3dEf6hIj9k" * 7 + "Lm==;'",
     "Ab3dEf6hIj9k" * 7 + "Lm=="),
    ("jwt", f'TOKEN = "{jwt()}"', jwt()),
    ("private_key", f'KEY = """{PEM}"""', PEM),
    ("password_in_url", 'DATABASE_URL = "postgres://app:S3cr3t!Pa55@db.internal:5432/orders"', "S3cr3t!Pa55"),
    ("password_in_url", 'r = redis.from_url("redis://:Orange2009$@cache:6379/0")', "Orange2009$"),
    ("password_in_url", "cs = 'Server=sql01;Database=crm;User Id=sa;Password=Qx7#mP2!vL;'", "Qx7#mP2!vL"),
    ("secret_assignment", 'password = "Tr0ub4dor&3"', "Tr0ub4dor&3"),
    ("secret_assignment", "const apiKey = 'q8Zr2LmX4vTn7BpW1cYk9HdJ';", "q8Zr2LmX4vTn7BpW1cYk9HdJ"),
    ("secret_assignment", "DB_PASSWORD=hunter2-Prod-77", "hunter2-Prod-77"),
    ("secret_assignment", "  client_secret: Zk8!pQ2mW9xR4tYv", "Zk8!pQ2mW9xR4tYv"),
    ("secret_assignment", '{"password": "Winter2024!"}', "Winter2024!"),
    ("bearer_token", "curl -H 'Authorization: Bearer Zk8pQ2mW9xR4tYvB7nL1cX5dF3gH6jK0'", "Zk8pQ2mW9xR4tYvB7nL1cX5dF3gH6jK0"),
    ("password_in_url", "curl -u deploy:Qx7mP2vL9 https://api.internal/x", "Qx7mP2vL9"),
    ("password_in_url", "mysql -u root -pS3cretPa55 shop", "S3cretPa55"),
    ("password_in_url", "pg_dump --password=Tr0ub4dor3 db", "Tr0ub4dor3"),
    ("password_in_url", 'sshpass -p "hunter2Prod" ssh host', "hunter2Prod"),
    ("url_query_secret", 'requests.get("https://api.weather.io/v2?city=Oslo&api_key=q8Zr2LmX4vTn7BpW1cYk9HdJ")',
     "q8Zr2LmX4vTn7BpW1cYk9HdJ"),
    ("url_query_secret", "https://acct.blob.core.windows.net/c/f.pdf?sv=2022-11-02&sig=Zk8pQ2mW9xR4tYvB%2Bn7L1cX5dF3gH6jK0%3D",
     "Zk8pQ2mW9xR4tYvB%2Bn7L1cX5dF3gH6jK0%3D"),
    ("slack_token", "SLACK_BOT_TOKEN=xoxe-1-My4xLTM5MDk2ODA0NDg3MDMtMTIzNA", "xoxe-1-My4xLTM5MDk2ODA0NDg3MDMtMTIzNA"),
    # what `env`, a Kubernetes secret and Django settings print
    ("secret_assignment", "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD",
     "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD"),
    ("secret_assignment", "  password: cGFzc3dvcmQxMjM=", "cGFzc3dvcmQxMjM="),
    ("secret_assignment", "SECRET_KEY = 'django-insecure-8x#@v2k!p$9z^m3q&r7w0t1y5u'", "django-insecure-8x#@v2k!p$9z^m3q&r7w0t1y5u"),
]


@pytest.mark.parametrize("type_,line,value", POSITIVES, ids=[f"{p[0]}-{i}" for i, p in enumerate(POSITIVES)])
def test_secret_is_replaced_by_its_typed_placeholder(type_, line, value):
    out, findings = redact(line)
    assert value not in out
    assert [f.type for f in findings] == [type_]
    f = findings[0]
    assert f.placeholder and f.placeholder.startswith(f"<SECRET:{type_}:") and f.placeholder in out
    assert f.action == "redact"


# Things that look risky in code but are not secrets: none may change.
NEGATIVES = [
    'request_id = "123e4567-e89b-12d3-a456-426614174000"',
    'commit = "3f786850e387550fdab836ed7e6dc881de23001b"',
    'digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
    '__version__ = "2.31.0"',
    'URL = "https://api.github.com/repos/owner/name/pulls?per_page=100"',
    'DATABASE_URL = "postgres://localhost:5432/app"',
    'DSN = "postgres://user:${DB_PASSWORD}@db:5432/app"',
    'API_KEY = "your-api-key-here"',
    'OPENAI_API_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    'AWS_ACCESS_KEY_ID = "AKIAXXXXXXXXXXXXXXXX"',
    "password = os.environ['DB_PASSWORD']",
    "password = getpass.getpass()",
    "password: str = None",
    "token = tokenize.generate_tokens(readline)",
    'token_type = "Bearer"',
    'self.password = password',
    'PASSWORD_FIELD = "password"',
    "secret_key = settings.SECRET_KEY",
    'msg = "Enter your password:"',
    "API_TOKEN=${API_TOKEN}",
    "export GITHUB_TOKEN=$(gh auth token)",
    "key = ghp_example_token",
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    'auth = ("user", "pass")',
    "  password: <your password>",
    "const token = getToken();",
    'headers["Authorization"] = f"Bearer {token}"',
    # `env` output, type annotations, CI expressions, lockfiles: daily Codex tool output
    "PWD=/work/main", "SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.123", "GIT_ASKPASS=/usr/lib/git-core/git-gui--askpass",
    '    api_key: str = ""', "    password: Optional[str] = None", "  apiKey: string;",
    "password: ${DB_PASSWORD}", 'token: "{{ secrets.GITHUB_TOKEN }}"', "      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    '    "integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==",',
    "    def authenticate(self, token: str) -> bool:", 'token = request.headers.get("Authorization", "").removeprefix("Bearer ")',
    "    const { password } = req.body;",
    'curl -u "$USER:$PASS" https://x', "mysql -u root -p shop", "ls -p /tmp", "git push --force",
    "https://github.com/login/oauth/authorize?client_id=Iv1.8a61f9b3a7aba766&state=xyz",
    'url = f"{base}?token={token}&page=2"', "GET /search?token=punctuation_string_value",
]


# Documentation and test values in a provider's exact format: masked by default (a mask is restored in
# tool calls, a leak cannot be undone), forwarded unchanged when the pack sets documentation_values: allow.
DOC_VALUES = [
    ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("github_token", "ghp_EXAMPLENOTAREALGITHUBTOKEN0000000000"),
    ("slack_token", "xoxb-00000-00000-EXAMPLENOTAREALTOKEN"),
    ("stripe_api_key", "sk_test_4eC39HqLyjWDarjtT1zdp7dcEXAMPLE"),
]


@pytest.mark.parametrize("type_,value", DOC_VALUES)
def test_documentation_values_are_masked_unless_the_pack_allows_them(type_, value):
    line = f'config["{type_}"] = "{value}"'
    out, findings = redact(line)
    assert value not in out and [f.type for f in findings] == [type_]
    assert redact(line, documentation_values="allow") == (line, [])


@pytest.mark.parametrize("line", NEGATIVES)
def test_lookalikes_in_code_are_untouched(line):
    out, findings = redact(line)
    assert out == line, findings


def test_redacted_python_still_parses_and_placeholders_are_stable():
    src = f'import os\nKEY = "AKIAZ7VQ3XJ5L2PQRS4T"\nDB = "postgres://app:S3cr3t!Pa55@db/x"\nT = "{gh_token()}"\n'
    first, _ = redact(src)
    again, _ = redact(src)          # a fresh policy with the same installation key: next turn
    ast.parse(first)
    assert first == again
    assert "AKIAZ7VQ3XJ5L2PQRS4T" not in first


def test_placeholders_restore_to_the_original():
    p = policy()
    res = p.scan('k = "AKIAZ7VQ3XJ5L2PQRS4T"', "tool_output")
    ph = PLACEHOLDER_RE.search(res.text).group(0)
    restored, n = p.context.redactor.restore(f"echo {ph}")
    assert (restored, n) == ("echo AKIAZ7VQ3XJ5L2PQRS4T", 1)


def test_github_checksum_raises_confidence():
    good = gh_token()
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    _, f_good = redact(f"t = '{good}'")
    _, f_bad = redact(f"t = '{bad}'")
    assert f_good[0].score == 1.0
    assert f_bad and f_bad[0].score < 1.0       # still redacted: the prefix and shape are specific enough


def test_jwt_needs_a_decodable_header():
    fake = "eyJhbGciOiJub3Rqc29u.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuv"   # header is not JSON
    assert redact(f"t = '{fake}'")[1] == []


def _exchange(text: str) -> Exchange:
    return Exchange(api="responses", transport="sse", segments=[
        Segment(("input", 0, "content"), "user", "fix the deploy script"),
        Segment(("input", 3, "output"), "tool_output", text, call_id="call_1"),
    ])


def test_block_on_match_names_type_and_location():
    ex = _exchange('aws_secret_access_key = "Zx8fP2kqL9vB3nR7tY1uW5eA0sD4gH6jK8lM2nQ4"')
    v = policy(block_on_match=True).request(ex)
    assert v.verdict == "block"
    assert v.message == "Blocked by keeptrusts code-sanitation: aws_secret_access_key in input[3].output"
    assert "Zx8f" not in json.dumps(v.to_dict())


def test_request_redacts_in_place_with_reason_code_and_no_value_in_findings():
    ex = _exchange('password = "Tr0ub4dor&3"')
    v = policy().request(ex)
    assert (v.verdict, v.reason_code) == ("redact", "secret_detected")
    assert "Tr0ub4dor&3" not in ex.segments[1].text and ex.segments[1].changed
    d = v.to_dict()
    assert d["findings"][0]["where"] == "input[3].output" and "Tr0ub4dor" not in json.dumps(d)


def test_per_type_action_warn_flags_without_editing():
    ex = _exchange('password = "Tr0ub4dor&3"')
    v = policy(actions={"secret_assignment": "warn"}).request(ex)
    assert v.verdict == "flag" and not ex.segments[1].changed


def test_action_warn_for_every_type_records_without_editing():
    ex = _exchange('password = "Tr0ub4dor&3"\nk = "AKIAZ7VQ3XJ5L2PQRS4T"')
    v = policy(action="warn").request(ex)
    assert v.verdict == "flag" and len(v.findings) == 2 and not ex.segments[1].changed


def test_entities_can_be_switched_off():
    text = 'password = "Tr0ub4dor&3"\nk = "AKIAZ7VQ3XJ5L2PQRS4T"'
    out, findings = redact(text, exclude_entities=["secret_assignment"])
    assert [f.type for f in findings] == ["aws_access_key_id"] and "Tr0ub4dor&3" in out


def test_allow_list_values_hashes_and_patterns():
    line = 'k = "AKIAZ7VQ3XJ5L2PQRS4T"'
    assert redact(line, allow_list={"values": ["AKIAZ7VQ3XJ5L2PQRS4T"]})[0] == line
    digest = hashlib.sha256(b"AKIAZ7VQ3XJ5L2PQRS4T").hexdigest()
    assert redact(line, allow_list={"sha256": [digest]})[0] == line
    assert redact(line, allow_list={"patterns": ["AKIAZ7.*"]})[0] == line
    assert redact(line, allow_list={"patterns": ["AKIAQ.*"]})[0] != line


def test_allow_listed_paths_skip_the_outputs_of_calls_that_read_them():
    ex = Exchange(api="responses", transport="sse", segments=[
        Segment(("input", 2, "arguments"), "tool_call_args", '{"cmd": "cat tests/fixtures/creds.env"}', call_id="c1"),
        Segment(("input", 3, "output"), "tool_output", "DB_PASSWORD=hunter2-Prod-77", call_id="c1"),
        Segment(("input", 5, "output"), "tool_output", "DB_PASSWORD=hunter2-Prod-77", call_id="c2"),
    ])
    policy(allow_list={"paths": ["tests/fixtures/*"]}).request(ex)
    assert not ex.segments[1].changed and ex.segments[2].changed


def test_additional_patterns_from_the_reference():
    out, findings = redact("conf = 'INTERNAL-ab12cd34ef'", additional_patterns=[r"INTERNAL-[0-9a-f]{10}"])
    assert "INTERNAL-ab12cd34ef" not in out and findings[0].type == "custom_pattern"


def test_disabled_policy_changes_nothing():
    line = 'password = "Tr0ub4dor&3"'
    ex = _exchange(line)
    assert policy(enabled=False).request(ex).verdict == "allow" and ex.segments[1].text == line


def test_model_output_is_redacted_too():
    item = OutputItem(kind="message", text="Use `export STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc` then run it", index=2)
    v = policy().output_item(Exchange(api="responses", transport="sse"), item)
    assert v.verdict == "redact" and v.phase == "output" and "sk_live_4eC39" not in item.text
    assert v.findings[0].where == "output[2]"


def test_resent_history_is_scanned_once():
    p = policy()
    history = "\n".join(f"line {i}: password = 'Tr0ub4dor&{i}'" for i in range(50))
    p.request(_exchange(history))
    misses = p.cache_misses
    p.request(_exchange(history))
    assert p.cache_misses == misses and p.cache_hits >= 2


@pytest.mark.timeout(120)
def test_pathological_long_lines_finish():
    """One long line full of candidates is read once per window, not once per hit (no quadratic blow-up)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from bench_scan import ADVERSARIAL

    p = policy()
    from keeptrusts.policies.pii_detector import PiiDetector
    pii = PiiDetector({}, p.context)
    for name, make in ADVERSARIAL.items():
        text = make()[:100_000]       # quadratic behaviour would take minutes even at this size
        out = p.scan(pii.scan(text, "tool_output").text, "tool_output").text
        assert out, name
    # and real values on such a line are still found
    assert "olivia.okafor@gmail.com" not in pii.scan("a@b.co " * 2000 + "olivia.okafor@gmail.com", "x").text


def test_config_lint_rejects_bad_regex_and_unknown_types():
    base = "pack: {name: p, version: 1.0.0, enabled: true}\npolicies: {chain: [code-sanitation]}\npolicy:\n  code-sanitation:\n"
    parse_config(base + "    additional_patterns: ['AKIA[0-9A-Z]{16}']\n    actions: {github_token: block}\n")
    with pytest.raises(ConfigError) as e:
        parse_config(base + "    additional_patterns: ['AKIA[0-9']\n")
    assert "additional_patterns[0]" in e.value.render()
    with pytest.raises(ConfigError) as e:
        parse_config(base + "    entities: [github_tokens]\n")
    assert "github_token" in e.value.render()


@pytest.fixture(scope="module")
def eval_results():
    """A small run of scripts/eval_redaction.py: planted secrets in real stdlib/npm code, clean controls."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import eval_redaction as ev

    cases, clean = ev.build_cases(seed=11, n_planted=300, n_clean=200)
    return ev.evaluate(ev.Keeptrusts(), cases, clean)


def test_small_corpus_recall_and_clean_code(eval_results):
    score = eval_results
    from eval_redaction import SECRET_TYPES
    for t in SECRET_TYPES & set(score.planted):
        assert score.recall(t) == 1.0, (t, score.misses)
    assert score.clean_changed / score.clean <= 0.01, score.false_positives


def test_chain_order_pii_then_secrets_still_redacts_the_password():
    """pii-detector runs first and replaces a public host IP; the password before it must still go."""
    from keeptrusts.policies.pii_detector import PiiDetector

    p = policy()
    ex = _exchange('DB = "mysql://admin:Qx7#mP2!vL@34.120.18.7/shop"')
    PiiDetector({}, p.context).request(ex)
    p.request(ex)
    assert "Qx7#mP2!vL" not in ex.segments[1].text and "34.120.18.7" not in ex.segments[1].text


def test_secrets_inside_json_encoded_tool_arguments_keep_the_json_valid():
    args = json.dumps({"cmd": 'export API_KEY="q8Zr2LmX4vTn7BpW1cYk9HdJ" && psql postgres://app:S3cr3t!Pa55@db/x',
                       "key": PEM})
    out, findings = redact(args)
    assert {f.type for f in findings} == {"secret_assignment", "password_in_url", "private_key"}
    decoded = json.loads(out)
    assert "q8Zr2LmX4vTn7BpW1cYk9HdJ" not in decoded["cmd"] and "S3cr3t" not in decoded["cmd"]
    assert decoded["key"].startswith("<SECRET:private_key:")


def test_without_hyperscan_the_python_re_fallback_finds_the_same(monkeypatch):
    from keeptrusts.recognizers import engine as eng
    from keeptrusts.recognizers import pii_recognizers, secret_recognizers

    text = "\n".join(line for _, line, _ in POSITIVES) + "\n# Author: Ingrid Lindqvist <ingrid@fastmail.fm>\n"
    fast = [(d.entity, d.start, d.end) for d in eng.Engine(secret_recognizers() + pii_recognizers()).scan(text)]
    monkeypatch.setattr(eng, "hyperscan", None)
    slow = [(d.entity, d.start, d.end) for d in eng.Engine(secret_recognizers() + pii_recognizers()).scan(text)]
    assert slow == fast and len(fast) >= len(POSITIVES)


def test_restoring_placeholders_gives_back_the_exact_original_code():
    """What apply_patch relies on: the model's echo of redacted code, restored, matches the file on disk."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import eval_redaction as ev

    cases, _ = ev.build_cases(seed=5, n_planted=80, n_clean=0)
    system = ev.Keeptrusts()
    redactor = system.policies[0].context.redactor
    for _lang, _chunk, text, values in cases:
        out, n = system.redact(text, "py")
        assert n >= 1 and all(v not in out for _, v in values)
        assert redactor.restore(out) == (text, n)


# ---------------------------------------------------------------- provider formats as data (issue 16)
def _rand(chars: str, n: int, seed: int = 16) -> str:
    rng = random.Random(seed + n)
    return "".join(rng.choice(chars) for _ in range(n))


_HEX, _AN = "0123456789abcdef", "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PROVIDER_CASES = [
    ("digitalocean_pat", f"DIGITALOCEAN_TOKEN=dop_v1_{_rand(_HEX, 64)}"),
    ("shopify_access_token", f"export SHOPIFY_TOKEN=shpat_{_rand(_HEX, 32)}"),
    ("pypi_upload_token", f'password = "pypi-AgEIcHlwaS5vcmc{_rand(_AN, 70)}"'),
    ("age_secret_key", f"# AGE-SECRET-KEY-1{_rand('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58)}"),
    ("linear_api_key", f'LINEAR_API_KEY="lin_api_{_rand(_AN, 40)}"'),
    ("pulumi_api_token", f"PULUMI_ACCESS_TOKEN=pul-{_rand(_HEX, 40)}"),
    ("groq_api_key", f"client = Groq(api_key='gsk_{_rand(_AN, 52)}')"),
    ("docker_hub_pat", f"echo dckr_pat_{_rand(_AN, 27)} | docker login -u ci --password-stdin"),
    ("stripe_webhook_secret", f"STRIPE_WEBHOOK_SECRET: whsec_{_rand(_AN, 32)}"),
    ("tailscale_key", f"tailscale up --authkey tskey-auth-{_rand(_AN, 12)}-{_rand(_AN, 30)}"),
]


@pytest.mark.parametrize("type_,line", PROVIDER_CASES)
def test_provider_formats_loaded_as_data_are_redacted(type_, line):
    out, findings = redact(line)
    assert [f.type for f in findings] == [type_], findings
    assert PLACEHOLDER_RE.search(out)


def test_provider_rules_all_compile_into_the_one_hyperscan_database():
    from keeptrusts.recognizers import Engine, load_rules, secret_recognizers

    rules = load_rules()
    assert len(rules) >= 200 and sum(r["source"].startswith("https://github.com/gitleaks") for r in rules) >= 150
    engine = Engine(secret_recognizers())
    assert engine._db is not None and engine._slow == []      # no rule falls back to Python-only scanning


def test_a_provider_keyword_is_needed_where_the_format_alone_is_generic():
    sha = "3f786850e387550fdab836ed7e6dc881de23001b"
    assert redact(f"see sourcegraph commit {sha}") == (f"see sourcegraph commit {sha}", [])
    assert redact(f"const algoliaKey = '{_rand(_HEX, 32)}'")[1]
    assert redact(f"const cacheKey = '{_rand(_HEX, 32)}'")[1] == []


# ---------------------------------------------------------------- generic credentials in every format (issue 16)
_PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + "q7Zr2XbTt9mL0pVw3nKc5sYd8fJh1gAeR4uIo6PlMzNxW" * 8
        + "\n-----END RSA PRIVATE KEY-----\n")
_B64PEM = base64.b64encode(_PEM.encode()).decode()
GENERIC_CASES = [
    ("secret_assignment", "ENV DB_PASSWORD=Tr0ub4dor-3xq", "Tr0ub4dor-3xq"),                       # Dockerfile
    ("secret_assignment", "ENV API_TOKEN 9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c", "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"),
    ("secret_assignment", "ARG NPM_AUTH_TOKEN=Zk3xQ9mW2vR7tY5pL8nB4cF6", "Zk3xQ9mW2vR7tY5pL8nB4cF6"),
    ("secret_assignment", "define('DB_PASSWORD', 'mYs3cr3tPw!');", "mYs3cr3tPw!"),                  # PHP
    ("secret_assignment", r'{\"api_key\": \"Qm9vZ2xlQXBpS2V5MTIzNDU2Nzg5\"}', "Qm9vZ2xlQXBpS2V5MTIzNDU2Nzg5"),  # JSON-escaped
    ("secret_assignment", r'"{\"password\":\"Winter2024!x\"}"', "Winter2024!x"),
    ("secret_assignment", "body=%7B%22password%22%3A%22Hunter2-Xy9%22%7D", "Hunter2-Xy9"),         # URL-encoded
    ("secret_assignment", "[database]\npassword = Sup3rS3cret!", "Sup3rS3cret!"),                 # INI
    ("secret_assignment", '  master_password = "Xk9#mP2$vL5q"', "Xk9#mP2$vL5q"),                  # Terraform
    ("secret_assignment", "spring.datasource.password=Xk9mP2vL5qR8", "Xk9mP2vL5qR8"),             # properties
    ("secret_assignment", '<add key="ApiSecret" value="Zk3xQ9mW2vR7tY5pL8nB4cF6" />', "Zk3xQ9mW2vR7tY5pL8nB4cF6"),
    ("secret_assignment", "<password>Xk9#mP2$vL5q</password>", "Xk9#mP2$vL5q"),
    ("password_in_url", "mysql -u root -p'Xk9#mP2$vL5q' shop", "Xk9#mP2$vL5q"),
    ("password_in_url", "redis-cli -h cache.internal -a Xk9mP2vL5qR8 ping", "Xk9mP2vL5qR8"),
    ("password_in_url", "docker login -u deploy -p Xk9mP2vL5qR8 registry.internal", "Xk9mP2vL5qR8"),
    ("password_in_url", "PGPASSWORD=Xk9mP2vL5qR8 psql -h db -U app", "Xk9mP2vL5qR8"),
    ("password_in_url", "vault login --token=hvs_Zk3xQ9mW2vR7tY5pL8nB4cF6", "hvs_Zk3xQ9mW2vR7tY5pL8nB4cF6"),
    ("password_in_url", "terraform apply -var 'db_password=Xk9mP2vL5qR8'", "Xk9mP2vL5qR8"),
    ("password_in_url", "kubectl create secret generic db --from-literal=password=Xk9mP2vL5q", "Xk9mP2vL5q"),
    ("password_in_url", "curl -H 'X-API-Key: 7f3a9c2e5b8d1f4a6c9e2b5d8f1a4c7e' https://api.internal/v1",
     "7f3a9c2e5b8d1f4a6c9e2b5d8f1a4c7e"),
    ("password_in_url", "jdbc:postgresql://db:5432/app?user=app&password=Xk9mP2vL", "Xk9mP2vL"),
    ("password_in_url", "htpasswd -b -c .htpasswd admin Xk9mP2vL5qR8", "Xk9mP2vL5qR8"),
    ("kubernetes_secret", "apiVersion: v1\ndata:\n  db-conn: cG9zdGdyZXM6Ly9hcHA6WGs5bVAyQGRiL2FwcA==\nkind: Secret\n",
     "cG9zdGdyZXM6Ly9hcHA6WGs5bVAyQGRiL2FwcA=="),
    ("kubernetes_secret", "kind: Secret\nstringData:\n  connection: Xk9mP2vL5qR8\n", "Xk9mP2vL5qR8"),
    ("encoded_secret", f"    client-key-data: {_B64PEM}", _B64PEM),                                # kubeconfig
    ("encoded_secret", '{"auths": {"registry.internal": {"auth": "ZGVwbG95OlhrOW1QMnZMNXFSOA=="}}}',
     "ZGVwbG95OlhrOW1QMnZMNXFSOA=="),
    ("secret_assignment", "SERVICE_KEY=vnd_SRDGoXMSopHGVDAA555Hl4nRanwzeCtLhQE3qz7", "vnd_SRDGoXMSopHGVDAA555Hl4nRanwzeCtLhQE3qz7"),
    ("secret_assignment", "const WEBHOOK_KEY = 'Z7zSeiEHKV9SICWEecl0ERe9NBVAm52SS';", "Z7zSeiEHKV9SICWEecl0ERe9NBVAm52SS"),
    ("secret_assignment", "my API key is live-MqsElUXahPci3nLiKFKl9axx54SPe95, why does it fail?",
     "live-MqsElUXahPci3nLiKFKl9axx54SPe95"),                                                   # chat prose
    ("secret_assignment", "I set the token to pk1.gGa4sgx3TJlrCWBDaXKUpI43op4viZNTV7 and it still returns 401",
     "pk1.gGa4sgx3TJlrCWBDaXKUpI43op4viZNTV7"),
    ("bearer_token", "curl -H 'Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAa5Ie8b68Ze2Ik0dSZ%3DWadHbClJYgXzRmE9latz6l'",
     "AAAAAAAAAAAAAAAAAAAAAa5Ie8b68Ze2Ik0dSZ%3DWadHbClJYgXzRmE9latz6l"),                         # URL-encoded
    ("github_token", f"GH_TOKEN_{gh_token()}", gh_token()),                                       # glued to a name
    ("aws_access_key_id", "creds=AKIAZ7VQ3XJ5L2PQRS4T;region=eu", "AKIAZ7VQ3XJ5L2PQRS4T"),
]


@pytest.mark.parametrize("type_,text,value", GENERIC_CASES)
def test_generic_credentials_in_every_format_an_agent_reads(type_, text, value):
    out, findings = redact(text)
    assert value not in out and type_ in [f.type for f in findings], (out, findings)


GENERIC_NEGATIVES = [
    "kind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  mode: production\n",
    "cmd --pass-through x --auth none --token-file ~/.tok --token $TOKEN",
    'curl -H "x-api-key: $KEY" https://x', "PGPASSWORD=$PW psql", "docker login -u ci --password-stdin",
    '    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM1ekNDQWMrZ0F3SUJBZ0lCQVRBTkJna3Foa2lHOXcwQkFRc0ZBREFW',
    "ENV PASSWORD_FILE=/run/secrets/db", "define('AUTH_SALT', 'put your unique phrase here');",
    "acc[key] = crypto_1.default.createHash(key);", "key = self._box.add(io.StringIO(self._template))",
    'cache_key = "3f786850e387550fdab836ed7e6dc881de23001b"', "sort_key = operator.itemgetter('createdAtTimestamp')",
    "the password is required", "The token is invalidatedAfterLogout", "primaryKey: 'organizationMembershipIdentifier'",
]


@pytest.mark.parametrize("text", GENERIC_NEGATIVES)
def test_generic_lookalikes_are_untouched(text):
    assert redact(text) == (text, [])
