"""Fake role headers, chat-template tokens and fake tool-result boundaries.

Text that claims to be a system or developer message, or closes the tool output early, tries to
make the model read what follows with more authority than data has. XML-ish tags count only in
tool outputs: Codex itself wraps AGENTS.md and context in tags inside user messages.
"""
from dataclasses import replace

from ..rule import ANY, UNTRUSTED, rules

FAMILY = "role_marker"

# Start of a line (also after `nl` line numbers), or right after a quote or a sentence end.
_LS = r"(?:^|\n|[\"'>]|[.!?]\s)[ \t]*(?:\d+[ \t:|]+)?"

ANCHORS = {
    "json_role_system": r"role\s?[\"']\s*:\s*[\"']\s?(?:system|developer)",
    "role_tag": r"<(?:important|system|developer|admin|sudo|override|hidden_instructions|secret_instructions|important_instructions|assistant_instructions|ai_instructions|instructions_for_ai|agent_instructions)",
    "fake_tool_result": r"</(?:tool_output|tool_result|tool_response|function_results|function_output|function_response|tool|output|result|search_results|document|context|untrusted_content|file_content|file|user_input|data|page|webpage|email|issue|comment)>",
    "human_assistant_turns": r"\n[ \t]*\n[ \t]*(?:Assistant|A):",
    "inst_tokens": r"(?:\[INST\]|<[<]SYS>>|<start_of_turn[>]|\[SYSTEM_PROMPT\])",
}

RULES = rules(FAMILY, [
    ("chat_template_role", 0.75,
     r"(?:<\|im_start\|>\s*(?:system|developer|assistant)|<\|start_header_id\|>\s*(?:system|developer|assistant|ipython)\s*<\|end_header_id\|>|<\|(?:system|developer)\|>|<\|start\|>(?:system|developer|assistant))"),
    # A bare token is how chat-template docs talk about them; it needs company to matter.
    ("chat_template_token", 0.4,
     r"<\|(?:im_start|im_end|im_sep|endoftext|endofprompt|system|user|assistant|developer|start_header_id|end_header_id|eot_id|begin_of_text|end_of_text|start|end|message|channel|constrain|return|call|tool|tool_call|tool_response|ipython|eom_id|fim_prefix|fim_middle|fim_suffix|end_of_turn|start_of_turn)\|>"),
    ("inst_tokens", 0.7, r"(?:\[INST\][^\n]{12,400}\[/INST\]|<[<]SYS>>\s*[^<{}\s][^<]{15,400}<[<]/SYS>>|<start_of_turn[>](?:user|model|system)|\[SYSTEM_PROMPT\][^\n]{1,200})", ANY, True),
    ("inst_token_bare", 0.4, r"(?:\[/?INST\]|<[<]/?SYS>>|<end_of_turn[>]|\[/SYSTEM_PROMPT\]|\[AVAILABLE_TOOLS\]|\[TOOL_RESULTS\])", ANY, True),
    ("fake_role_header", 0.6,
     _LS + r"[\[(<#*>=-]*[ \t]*(?:system|developer|admin|administrator|root|operator|openai|anthropic)[ \t]+(?:message|prompt|instructions?|override|directive|update|notice|command|note|policy)[ \t]*[\])>*=-]*[ \t]*:",
     UNTRUSTED),
    ("bracket_role", 0.6,
     r"(?:" + _LS + r"\[(?:system|developer|admin)\][ \t]*:?[ \t]*[A-Za-z][^\n=]{10,}|\[(?:SYSTEM|DEVELOPER|ADMIN|ADMINISTRATOR|OPERATOR|ROOT)[ _](?:MESSAGE|NOTE|OVERRIDE|INSTRUCTIONS?|PROMPT|COMMAND|MODE|NOTICE|DIRECTIVE)\]|\[assistant\s+instructions\])",
     UNTRUSTED),
    ("role_tag", 0.5,
     r"<(?:important|IMPORTANT|system|system_prompt|system-prompt|systemprompt|system_message|developer|developer_message|admin|sudo|override|hidden_instructions|secret_instructions|important_instructions|assistant_instructions|ai_instructions|instructions_for_ai|agent_instructions)(?:\s[^>\n]{0,40})?>",
     UNTRUSTED),
    ("new_system_prompt", 0.65,
     r"(?:[=#*~-]{2,}|\[|<)[ \t]*(?:NEW|UPDATED|REVISED|REAL|TRUE|ACTUAL|OVERRIDE)[ \t_]+(?:SYSTEM[ \t_]+)?(?:PROMPT|INSTRUCTIONS|DIRECTIVES|RULES)|(?:BEGIN|START)[ \t_]+(?:NEW[ \t_]+)?INSTRUCTIONS[ \t_]+FOR[ \t_]+(?:AI|THE[ \t_]+AI|CODEX|CLAUDE|CHATGPT|COPILOT|ASSISTANTS?|AGENTS?|LLMS?|THE[ \t_]+ASSISTANT|THE[ \t_]+MODEL)",
     UNTRUSTED, True),
    ("fake_assistant_turn", 0.55,
     _LS + r"(?:Assistant|ASSISTANT|AI|Codex|ChatGPT|Claude|Model|GPT)[ \t]*:[ \t]*(?:[Ss]ure|SURE|[Cc]ertainly|[Oo]f\s+course|OK|[Oo]kay|[Aa]bsolutely|[Uu]nderstood|[Rr]ight\s+away|[Dd]one|[Ww]ill\s+do|I\s+will\s+now|I'?ll\s+now|I\s+have\s+(?:finished|completed|done))\b",
     UNTRUSTED, True),
    ("boundary_text", 0.65,
     _LS + r"[-=#*\[<]*[ \t]*(?:BEGIN|START)[ \t_]+(?:NEW[ \t_]+)?(?:SYSTEM|DEVELOPER|ADMIN)[ \t_]+(?:PROMPT|MESSAGE|INSTRUCTIONS|OVERRIDE)",
     UNTRUSTED, True),
    ("end_of_data", 0.55,
     _LS + r"[-=#*\[<]*[ \t]*(?:END|CLOSE)[ \t_]+OF[ \t_]+(?:USER[ \t_]+INPUT|TOOL[ \t_]+OUTPUT|FUNCTION[ \t_]+OUTPUT|DOCUMENT|FILE|DATA|CONTEXT|SEARCH[ \t_]+RESULTS?|WEB[ \t_]+PAGE|UNTRUSTED[ \t_]+CONTENT|EMAIL|ISSUE|ARTICLE|PAGE|POST|README|COMMENT|TRANSCRIPT)[ \t]*[-=#*\]>.!]*(?:[ \t]|\n|$)",
     UNTRUSTED, True),
    ("fake_tool_result", 0.6,
     r"(?:</(?:tool_output|tool_result|tool_response|function_results|function_output|function_response|tool|output|result|search_results|document|context|untrusted_content|file_content|file|user_input|data|page|webpage|email|issue|comment)>\s*(?:<(?:system|assistant|developer|user|instructions|human)\b|\b(?:system|assistant|developer|user|human)\s*:))",
     UNTRUSTED),
    ("fake_function_call_xml", 0.55,
     r"<(?:function_calls|antml:function_calls|tool_calls?|invoke\s+name=|function_results)\b",
     UNTRUSTED),
    ("system_heading", 0.35,
     r"(?:^|\n)[ \t]*#{1,4}[ \t]*(?:SYSTEM|DEVELOPER|System\s+(?:Prompt|Message|Override|Instructions)|Developer\s+(?:Message|Instructions))[ \t]*\n",
     UNTRUSTED, True),
    ("yaml_role_system", 0.45,
     r"(?:^|\n)[ \t]*-?[ \t]*role[ \t]*:[ \t]*[\"']?(?:system|developer)[\"']?[ \t]*\n[ \t]*content[ \t]*:[ \t]*[^\n]{0,40}\b(?:must|always|never|ignore|obey|you\s+are)",
     UNTRUSTED),
    ("safety_disabled", 0.65,
     r"\b(?:all\s+)?(?:safety|security|content)\s+(?:checks|filters?|restrictions|guardrails|rules|policies|measures|protections)\s+(?:are|have\s+been|were)\s+(?:now\s+)?(?:disabled|off|turned\s+off|lifted|removed|suspended|deactivated|bypassed)\s+(?:for\s+(?:this|the\s+current|the\s+rest\s+of\s+(?:this|the))\s+(?:session|conversation|chat|task|request)|for\s+you|from\s+now\s+on)\b",
     UNTRUSTED),
    ("harmony_recipient", 0.6, r"\bassistant\s+to=(?:functions|container|python|browser|repo_browser)\.", ANY),
    ("json_role_system", 0.5, r"[\"']\s?role\s?[\"']\s*:\s*[\"']\s?(?:system|developer)\s?[\"']\s*,\s*[\"']\s?content\s?[\"']\s*:\s*[\"'][^\"'\n]{0,80}\b(?:ignore|disregard|you\s+are\s+now|new\s+instructions|must|reveal|always|never|do\s+not)",
     UNTRUSTED),
    ("human_assistant_turns", 0.45, r"\n[ \t]*\n[ \t]*(?:Human|H):[^\n]{1,200}\n[ \t]*\n[ \t]*(?:Assistant|A):", UNTRUSTED, True),
    ("chat_transcript_role", 0.5,
     _LS + r"(?:###[ \t]*)?(?:[Ss]ystem|SYSTEM|[Dd]eveloper|DEVELOPER)[ \t]*:\s*(?:You\s+are|you\s+are|Ignore|ignore|Disregard|From\s+now|New\s+instructions|Your\s+(?:new\s+)?task|The\s+assistant\s+(?:must|should|will)|you\s+are\s+(?:now\s+)?an?\b|you\s+must|ignore|disregard)",
     UNTRUSTED, True),
], anchors=ANCHORS)

# Bare tokens are how chat-template docs talk; many of them still count once.
RULES = [replace(r, solo=True) if r.id.split(".", 1)[1] in ("chat_template_token", "inst_token_bare") else r for r in RULES]
