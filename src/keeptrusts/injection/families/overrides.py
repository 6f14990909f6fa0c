"""Instruction overrides in English: "ignore previous instructions", persona switches, prompt leaks.

Mentions in ordinary docs ("override the default rules", "you are now ready to") are kept out by
requiring the words that only an attack uses together (previous + instructions, your + system prompt).
"""
from dataclasses import replace

from ..rule import ANY, UNTRUSTED, rules

FAMILY = "instruction_override"

_DET = r"(?:(?:all|any|every|each|the|your|my|of|these|those|its|their|our|above|everything|anything|whatever|what|that|was|were|you|have|been|given|said|told|received)\s+){0,5}"
_PRIOR = r"(?:previous|previously\s+given|prior|above|earlier|preceding|former|initial|original|foregoing|preexisting|pre-existing|aforementioned|all)"
_RULES = (r"(?:instructions?|directives?|rules|guidelines?|prompts?|commands?|context|messages?|guidance|directions?"
          r"|constraints|restrictions|orders|programming|conversation|system\s+prompts?)")
_AI = r"(?:AI|A\.I\.|LLM|LLMs|assistant|agent|model|language\s+model|chat\s?bot|bot|codex|claude|chatgpt|gpt|copilot|gemini|cursor)"
# Without "agent", "assistant", "model" alone: user agents, monitoring agents and LLM docs say "the
# agent must" / "the assistant should respond" all the time.
_AI_STRONG = (r"(?:AI|A\.I\.|LLMs?|AI\s+(?:agent|assistant|model|system|tool)s?|coding\s+(?:agent|assistant)s?"
              r"|language\s+models?|chat\s?bots?|codex|claude|chatgpt|gpt(?:-\d[\w.-]*)?|copilot|gemini)")

ANCHORS = {
    "dont_do_task": r"\b(?:do\s+not|don'?t|never)\s+(?:summari[sz]e|translate|answer|analy[sz]e|review|describe|explain|quote|repeat|read)\s",
    "conditional_answer": r"\b(?:asked|questioned|prompted|asks)\s+(?:about|for|whether|if|to)\b",
    "when_ai_reads": r"\s(?:reads?|processes|sees|parses|summari[sz]es|reviews|encounters|ingests|scans|finds)\s+(?:this|these|it)\b",
    "no_confirmation": r"(?:ask(?:ing)?|request(?:ing)?|wait(?:ing)?\s+for|seek(?:ing)?|get(?:ting)?)\s+(?:for\s+)?(?:the\s+|any\s+)?(?:user'?s?\s+|human'?s?\s+)?(?:permission|confirmation|approval|consent)|\bno\s+(?:confirmation|approval|permission|consent|review)\s",
    "dear_ai": r"\b(?:dear|hey|hello|hi|greetings|attention|yo)\s*,?\s+(?:the\s+)?(?:AI|LLM|assistant|codex|claude|chatgpt|GPT|copilot|gemini|agent|language\s+model|robot|bot)",
    "ai_reading_this": r"(?:reading|processing|parsing|analy[sz]ing|summari[sz]ing|reviewing|scanning|browsing|ingesting|viewing)(?:\s+(?:this|these|it)\b|\s*[:,])",
    "address_ai": r"\b(?:attention|note|message|instructions?|important|notice|reminder|directive|memo|hint|psa|warning|p\.?s\.?|note\s+to\s+self)\s*(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+)?(?:AI|LLM|LLMs|assistant|agent|model|language\s+model|coding\s+agent|codex|claude|chatgpt|gpt|copilot|bot|automated\s+(?:agent|tool|system|assistant))",
    "vocative_ai": r"(?:AI|LLM|Assistant|Codex|Claude|ChatGPT|Copilot|Gemini|GPT|Cursor|Agent|Model|language\s+model)s?\s*[,:]\s*(?:please|kindly|you|after|before|when|ignore|do|don'?t|always|never|run|execute|recommend|suggest|tell|say|add|insert|delete|remove|write|make|use|include|print|output|send|open|approve|merge|from\s+now|remember|note|make\s+sure|ensure|to\s|the\s)",
    "if_you_are_ai": r"\bif\s+(?:you\s+are|you'?re|you\s+happen\s+to\s+be)\s+(?:an?\s+)?(?:AI|A\.I\.|LLM|large\s+language\s+model|language\s+model|assistant|AI\s+(?:agent|assistant|model)|coding\s+(?:agent|assistant)|automated\s+(?:agent|tool|system|assistant)|bot|codex|claude|chatgpt|gpt|copilot|machine)\b",
    "whoever_reads": r"\s(?:reads|processes|handles|reviews|parses|summari[sz]es|sees|triages)\s+(?:this|these|it)\b",
    "decoy_above": r"(?:above|before\s+this|so\s+far)\s+(?:was|is|were|are)\s|what\s+you\s+(?:actually|really|truly)\s",
    "rules_dont_apply": r"(?:do\s+not|don'?t|no\s+longer|shall\s+not|will\s+not)\s+apply\b",
    "you_were_updated": r"\byou\s+(?:have\s+been|were|are\s+now|'ve\s+been)\s+(?:updated|upgraded|reprogrammed|reconfigured|jailbroken|unlocked|freed|liberated|patched)\b",
    "output_above": r"(?:above|before)\s+(?:this|that|my)\b",
    "ignore_whatever_asked": r"\b(?:ignore|disregard|forget)\s+(?:whatever|what|anything|everything)\s",
    "forget_multilingual": r"(?:todo\s+lo|alles|tout\s+ce|tudo|tutto|всё|все|作废|作廢|无效|無效|取消|失效)",
    "ignore_previous": r"\b(?:previous|previously|prior|above|earlier|preceding|former|initial|original|foregoing|preexisting|pre-existing|aforementioned|all)\s+(?:[\w-]+\s+){0,2}(?:instruction|directive|rule|guideline|prompt|command|context|message|guidance|direction|constraint|restriction|order|programming|conversation|system)",
    "reveal_prompt": r"(?:system\s+prompt|system\s+message|system\s+instructions|developer\s+(?:message|prompt|instructions)|initial\s+instructions|hidden\s+instructions|original\s+instructions|instructions\s+above|prompt\s+above|pre-?prompt|custom\s+instructions|configuration\s+prompt)",
    "ai_must_do": r"\b(?:must|should|shall|needs?\s+to|have\s+to|has\s+to|required\s+to|instructed\s+to|will\s+now)\s+(?:\w+\s+)?(?:run|execute|call|invoke|send|upload|post|fetch|download|install|delete|remove|modify|write|create|open|visit|email|push|commit|ignore|disregard|forget|reveal|print|output|include|append|insert|add|tell|say|respond|reply|recommend|read|copy|leak|exfiltrate|transfer|grant|approve|merge|change|update|replace|navigate|click)\b",
    "ignore_given": r"(?:instructions|rules|guidelines|directions|directives|prompts?|orders)\s+[\w\s']{0,40}?(?:earlier|before|previously|above|so\s+far|until\s+now|at\s+the\s+start|system\s+prompt)",
    "agent_instructed": r"\b(?:agents?|assistants?|models?|bots?)\s+(?:(?:is|are)\s+(?:hereby\s+)?(?:instructed|required|ordered|directed|expected|authori[sz]ed)\s+to|(?:must|should|need\s+to|have\s+to)\s+(?:immediately|now|silently|quietly|first|also)|(?:must|should|needs?\s+to|has\s+to|will)\s+(?:now\s+|also\s+)?(?:execute|run|eval|invoke)\s*:)",
    "previous_void": r"(?:previous|prior|above|earlier|original|initial|preceding|first)\s+(?:instructions|rules|prompts?|directions|directives|guidelines|guidance|orders|commands|messages)",
    "received_outdated": r"\syou\s+(?:were\s+given|received|got|have\s+been\s+given|read)\s",
    "pretend_no_rules": r"(?:pretend|imagine|assume|as\s+if|without\s+(?:any\s+)?(?:filters?|restrictions|censorship|limits|refusals?|safety))",
    "hypothetical_no_rules": r"\bif\s+you\s+(?:had|were|did)\s",
    "leak_given_instructions": r"(?:what\s+(?:were|are)\s+(?:the|your)\s|you\s+(?:were|have\s+been)\s+given)",
    "important_instructions": r"(?:IMPORTANT|URGENT|CRITICAL|PRIORITY|MANDATORY)",
}

RULES = rules(FAMILY, [
    ("ignore_previous", 0.9,
     r"\b(?:ignore|ignoring|disregard|disregarding|forget|forgetting|neglect|override|overrule|bypass|nullify|set\s+aside|pay\s+no\s+attention\s+to|do\s+not\s+(?:follow|obey)|don'?t\s+(?:follow|obey)|stop\s+(?:following|obeying)|no\s+longer\s+(?:follow|obey))\s+"
     + _DET + _PRIOR + r"\s+(?:[\w-]+\s+){0,2}" + _RULES + r"\b"),
    ("ignore_given", 0.85,
     r"\b(?:ignore|disregard|forget|do\s+not\s+follow|don'?t\s+follow|stop\s+following|no\s+longer\s+follow|override|discard)\s+(?:all\s+)?(?:of\s+)?(?:the\s+|your\s+|any\s+|those\s+|these\s+)?(?:instructions|rules|guidelines|directions|directives|prompts?|orders)\s+(?:(?:that\s+)?(?:you\s+)?(?:were|have\s+been|'ve\s+been|got|received)?\s*(?:given|told|received|provided|shown)?\s*)(?:earlier|before|previously|above|so\s+far|until\s+now|at\s+the\s+start|in\s+the\s+system\s+prompt)\b"),
    ("ignore_user_request", 0.65,
     r"\b(?:ignore|disregard|forget|do\s+not\s+answer|don'?t\s+answer)\s+(?:the\s+|what\s+the\s+)?(?:user|human|developer|operator|person)(?:'s|s'|s)?\s+(?:request|question|instructions?|message|prompt|task|query|asks?|asked|said|wants|wanted|typed|wrote|told\s+you)\b"),
    ("ignore_task", 0.75,
     r"\b(?:ignore|disregard|forget|drop|abandon|cancel)\s+(?:the\s+|your\s+|this\s+|that\s+|all\s+)?(?:previous\s+|earlier\s+|prior\s+|original\s+|current\s+|initial\s+)(?:task|request|assignment|objective|goal|question|job|mission)\b"),
    ("rules_changed", 0.7,
     r"\b(?:your|the|all|these)\s+(?:previous\s+|original\s+|system\s+)?(?:instructions|rules|orders|directives|guidelines|task|objective|goal|prompt)\s+(?:have|has)\s+(?:been\s+)?(?:changed|updated|replaced|overridden|revoked|cancel+ed|superseded)\b"),
    ("new_task_is", 0.6,
     r"\bthe\s+(?:new|real|actual|updated|revised)\s+(?:task|instructions?|objective|goal|assignment|mission)\s+(?:is|are)\s*(?:to\b|:)"),
    ("forget_all_before", 0.8,
     r"\b(?:forget|disregard|ignore)\s+(?:everything|anything|all)\s+(?:(?:that\s+)?(?:was\s+)?(?:said|written|stated|mentioned)\s+)?(?:before\s+this|above|prior\s+to\s+this|until\s+now|so\s+far|previously)\b"),
    ("conditional_answer", 0.55,
     r"\b(?:if|when|whenever)\s+(?:you\s+are\s+|you'?re\s+)?(?:asked|questioned|prompted|the\s+user\s+asks|someone\s+asks|anyone\s+asks)\s+(?:about|for|whether|if|to)\b[^.\n]{0,60}?[,;]?\s+(?:say|state|tell\s+(?:them|the\s+user)|answer|respond|reply|claim|insist|confirm)\s+(?:that\b|with\b|only\b|\w+)",
     UNTRUSTED),
    ("regardless", 0.5,
     r"\b(?:approve|merge|accept|pass|mark)\s+(?:it|this|the\s+(?:PR|pull\s+request|change|review|check)s?)\s+(?:as\s+\w+\s+)?regardless\b|\bthis\s+is\s+an?\s+(?:order|command|directive)\s+from\s+(?:the\s+)?(?:admin|administrator|owner|developer|system|operator|management|maintainer)",
     UNTRUSTED),
    ("now_roleplay", 0.7,
     r"\byou\s+(?:will|must|shall|are\s+going\s+to)\s+now\s+(?:act|roleplay|role-play|pretend|behave|respond|answer|speak|impersonate|become|be)\b|\bnow\s+you\s+(?:will|must|shall)\s+(?:act|roleplay|role-play|pretend|impersonate|become)\b"),
    ("reveal_instructions_text", 0.65,
     r"\b(?:full|entire|complete|exact|whole|verbatim|original)\s+(?:text|contents?|copy|wording)\s+of\s+(?:your|the)\s+(?:instructions|system\s+prompt|prompt|rules|guidelines|configuration)|\b(?:respond|reply|answer)\s+to\s+(?:every|each|all|any)\s+(?:message|question|request|prompt)s?\s+(?:only\s+)?with\b"),
    ("forget_multilingual", 0.8,
     r"\b(?:olvida|olvide|ignora|ignore)\s+todo\s+lo\s+(?:anterior|dicho|que\s+te\s+(?:dije|dijeron|han\s+dicho))|\b(?:vergiss|vergessen\s+Sie|ignoriere)\s+alles\s*,?\s+(?:was|das)\s+(?:dir|du|Ihnen|Sie|man\s+dir)\s+(?:\w+\s+){0,2}(?:vorher|zuvor|bisher|davor|gesagt)|\b(?:oublie|oubliez|ignore|ignorez)\s+tout\s+ce\s+(?:qui\s+précède|qui\s+precede|qu'on\s+t'a\s+dit|que\s+je\s+t'ai\s+dit|qui\s+a\s+été\s+dit)|\b(?:esqueça|esqueca|ignore)\s+tudo\s+(?:o\s+que\s+(?:foi\s+dito|te\s+disseram|eu\s+disse)|acima|anterior)|\b(?:dimentica|ignora)\s+tutto\s+(?:quello\s+che|ciò\s+che|cio\s+che|il\s+precedente|quanto\s+detto)|(?:забудь|забудьте|игнорируй)\s+(?:всё|все)\s*,?\s+что\s+(?:тебе|вам)?\s*(?:говорили|сказали|было\s+сказано)|(?:指示|指令|规则|規則|命令|设定|設定)\s*(?:都|全部|均|一律)?\s*(?:作废|作廢|无效|無效|取消|失效)"),
    ("ignore_your_rules", 0.85,
     r"\b(?:ignore|disregard|forget|bypass|override|circumvent|disable|turn\s+off|break\s+free\s+of|escape)\s+(?:all\s+)?(?:of\s+)?your\s+(?:[\w-]+\s+){0,2}"
     r"(?:instructions|rules|guidelines|system\s+prompt|system\s+message|programming|restrictions|constraints|filters?|guardrails|safety|policies|training|directives|limitations|principles)\b"),
    ("ignore_system_prompt", 0.7,
     r"\b(?:ignore|disregard|forget|bypass|override)\s+(?:the\s+|any\s+|all\s+)?(?:system|developer|safety|security|content)\s+(?:prompt|message|instructions|guidelines|policy|policies|filters?|guardrails|restrictions)\b"),
    ("forget_everything", 0.8,
     r"\b(?:forget|disregard|ignore)\s+(?:about\s+)?(?:everything|all(?:\s+of)?\s+(?:that|this|the\s+above))\s+(?:(?:you\s+(?:were|have\s+been)\s+(?:told|given|taught))|(?:above|before|previously|so\s+far|I\s+(?:said|told\s+you))|(?:that\s+came\s+before))"),
    ("new_instructions", 0.8,
     r"\byour\s+(?:new|real|actual|true|updated|revised|only|next|primary)\s+(?:task|instructions?|role|goal|objective|mission|purpose|directive|job|orders)\s+(?:is|are|will\s+be|now)\b"),
    ("new_instructions_header", 0.6,
     r"(?:^|\n)[\s#*>\[-]*(?:new|updated|revised|real|actual|true|override|important|urgent|priority)\s+(?:system\s+)?(?:instructions?|directives?|orders)\s*[\]*]*\s*:"),
    ("you_are_now", 0.8,
     r"\byou\s+are\s+(?:now|no\s+longer|from\s+now\s+on)\s+(?:(?:an?|the|in|my|called|named|acting\s+as)\s+)?(?:[\w-]+\s+){0,3}?"
     r"(?:DAN|jailbroken|unrestricted|unfiltered|uncensored|unbound|unchained|evil|malicious|rogue|free\s+from|bound\s+by|restricted|limited|an?\s+AI\s+without|developer\s+mode|god\s+mode|admin\s+mode|debug\s+mode|root\s+mode|jailbreak\s+mode|sudo\s+mode|a\s+different\s+(?:AI|assistant|model)|no\s+longer\s+an?\s+(?:AI|assistant)"
     r"|(?:operating|running|acting|working)\s+(?:without|with\s+no)\s+(?:any\s+)?(?:restrictions|limits|limitations|rules|filters|guidelines|guardrails))"),
    ("persona_switch", 0.7,
     r"\b(?:act|behave|respond|answer|roleplay|role-play|pretend)\s+(?:as\s+if\s+you\s+(?:are|were)|as|like|to\s+be|you\s+are)\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}?"
     r"(?:DAN|jailbroken|unrestricted|unfiltered|uncensored|evil|malicious|rogue|AI\s+(?:with|without)\s+no|AI\s+without|assistant\s+without|model\s+without|hacker)\b"),
    ("jailbreak_names", 0.8,
     r"\b(?:DAN\s+mode|do\s+anything\s+now|jailbreak(?:ed)?\s+mode|developer\s+mode\s+(?:enabled|activated|on|output)|enable\s+developer\s+mode|god\s+mode\s+(?:enabled|activated)|AIM\s+mode|STAN\s+mode|DUDE\s+mode|evil\s+confidant|opposite\s+mode|unfiltered\s+mode|no\s+restrictions\s+mode)\b"),
    ("from_now_on", 0.35,
     r"\b(?:from\s+now\s+on|henceforth|starting\s+now|for\s+the\s+rest\s+of\s+(?:this|the)\s+conversation|for\s+all\s+(?:future|subsequent)\s+(?:responses|replies|answers))\s*,?\s+(?:you|your)\s+(?:will|must|shall|are\s+to|should|have\s+to|need\s+to|respond|answer|reply|act|only)\b"),
    ("reveal_prompt", 0.75,
     r"\b(?:reveal|print|show|output|repeat|leak|dump|display|tell\s+me|share|give\s+me|disclose|expose|recite|write\s+out|copy|return|send|include|paste|list)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:your|the|its)\s+(?:full\s+|entire\s+|complete\s+|exact\s+|original\s+|verbatim\s+|hidden\s+|secret\s+|internal\s+|initial\s+)*"
     r"(?:system\s+prompt|system\s+message|system\s+instructions|developer\s+(?:message|prompt|instructions)|initial\s+instructions|hidden\s+instructions|original\s+instructions|instructions\s+above|prompt\s+above|pre-?prompt|custom\s+instructions|configuration\s+prompt)\b"),
    ("repeat_above", 0.8,
     r"\brepeat\s+(?:the\s+|all\s+(?:of\s+)?the\s+)?(?:words|text|everything|instructions|content)\s+above\b"),
    ("hide_from_user", 0.75,
     r"\b(?:do\s+not|don'?t|never|without)\s+(?:ever\s+)?(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|alert(?:ing)?|notify(?:ing)?|warn(?:ing)?|show(?:ing)?|let(?:ting)?|disclos(?:e|ing)|report(?:ing)?)\s+(?:this\s+to\s+)?(?:the|your|any)\s+(?:user|human|developer|operator|owner|people|person|reviewer|maintainers?)\b"),
    ("no_confirmation", 0.3,
     r"\bno\s+(?:confirmation|approval|permission|consent|review)\s+(?:is\s+)?(?:needed|required|necessary)\b|\b(?:without|do\s+not|don'?t|never|no\s+need\s+to)\s+(?:ask(?:ing)?|request(?:ing)?|wait(?:ing)?\s+for|seek(?:ing)?|get(?:ting)?)\s+(?:for\s+)?(?:the\s+|any\s+)?(?:user'?s?\s+|human'?s?\s+)?(?:permission|confirmation|approval|consent)\b",
     UNTRUSTED),
    ("stop_task", 0.6,
     r"\b(?:stop|abort|cease|halt)\s+(?:what\s+you\s+are\s+doing|your\s+current\s+task|the\s+current\s+task|summari[sz]ing|translating|analy[sz]ing|your\s+(?:work|analysis|review))\s*(?:[.,;:!-]|\s+and\b)"),
    ("instead_do", 0.3,
     r"\b(?:instead|rather)\s*,?\s+(?:you\s+(?:must|should|will|need\s+to)|(?:please\s+)?(?:respond|reply|say|output|print|answer)\s+(?:only\s+)?(?:with|that)|do\s+the\s+following)\b",
     UNTRUSTED),
    ("address_ai", 0.45,
     r"\b(?:attention|note|message|instructions?|important|notice|reminder|directive|memo|hint|psa|warning|p\.?s\.?|note\s+to\s+self)\s*(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+)?(?:AI|LLM|LLMs|assistant|agent|model|language\s+model|coding\s+agent|codex|claude|chatgpt|gpt|copilot|bot|automated\s+(?:agent|tool|system|assistant|reviewer|review\s+tool|reader)|(?:AI|bot|automated|machine)\s+reviewer)s?\b"
     r"(?!\s+(?:contributors?|generated|assisted|usage|use|policy|policies|features?|users?|developers?|researchers?|tools?\s+users?|ethics|safety\s+team))",
     UNTRUSTED),
    ("vocative_ai", 0.55,
     r"(?:^|\n|<!--|\(|>|#|//|/\*|\*|\[|\.\s)[ \t]*(?:hey\s+|hi\s+|dear\s+|attention\s+|ok\s+|okay\s+)?(?:the\s+)?(?:automated\s+|autonomous\s+|AI\s+|coding\s+)?(?:AI|LLM|Assistant|Codex|Claude|ChatGPT|Copilot|Gemini|GPT|Cursor|Agent|Model|language\s+model)s?\s*[,:]\s*"
     r"(?:please|kindly|you|after|before|when|ignore|do|don'?t|always|never|run|execute|recommend|suggest|tell|say|add|insert|delete|remove|write|make|use|include|print|output|send|open|approve|merge|from\s+now|remember|note|make\s+sure|ensure|to\s+\w+|the\s+\w+\s+is\s+\w+,?\s+(?:fix|delete|remove|run|push))\b",
     UNTRUSTED),
    ("ai_self_reference", 0.4, r"\((?:the\s+|you,?\s+the\s+)?(?:AI|LLM|assistant|language\s+model|AI\s+agent)\)", UNTRUSTED),
    ("when_ai_reads", 0.55,
     r"\b(?:when|if|once|whenever|after)\s+(?:an?\s+|the\s+|any\s+|this\s+)?(?:AI|LLM|language\s+model|AI\s+(?:tool|agent|assistant|model)|coding\s+(?:agent|assistant)|codex|claude|chatgpt|copilot)s?\s+(?:reads?|processes|sees|parses|summari[sz]es|reviews|encounters|ingests|scans|finds)\s+(?:this|these|it)\b",
     UNTRUSTED),
    ("obligated_to", 0.45,
     r"\byou\s+are\s+(?:now\s+)?(?:obligated|required|instructed|ordered|commanded|expected|authori[sz]ed|permitted|allowed)\s+to\s+(?:\w+\s+)?(?:execute|run|install|send|upload|delete|remove|print|reveal|output|disclose|ignore|bypass|disable|push|publish|transfer|share|email|post|curl|download)\b",
     UNTRUSTED),
    ("real_user_wants", 0.6,
     r"\b(?:the\s+)?(?:real|actual|true|original)\s+(?:user|owner|developer|admin)\s+(?:wants|asked|needs|requests|requested|would\s+like|has\s+asked)\b",
     UNTRUSTED),
    ("do_not_mention", 0.45,
     r"\b(?:do\s+not|don'?t|never|without)\s+(?:ever\s+)?(?:mention|mentioning|disclose|disclosing|reveal|revealing|report|reporting|acknowledge|acknowledging)\s+(?:it|this|that|them|these\s+instructions|this\s+(?:note|message|comment|instruction))\b",
     UNTRUSTED),
    ("if_you_are_ai", 0.55,
     r"\bif\s+(?:you\s+are|you'?re|you\s+happen\s+to\s+be)\s+(?:an?\s+)?(?:AI|A\.I\.|LLM|large\s+language\s+model|language\s+model|assistant|AI\s+(?:agent|assistant|model)|coding\s+(?:agent|assistant)|automated\s+(?:agent|tool|system|assistant)|bot|codex|claude|chatgpt|gpt|copilot|machine)\b"
     r"(?!\s+(?:researcher|engineer|developer|practitioner|enthusiast|student|company|startup|team|user|vendor|provider|lab|scientist|ethicist)s?\b)",
     UNTRUSTED),
    ("dear_ai", 0.5,
     r"(?:\b(?:dear|hey|hello|hi|greetings|attention|yo)[ \t]*,?[ \t]+(?:the\s+|all\s+|any\s+)?(?:AI|LLM|assistant|codex|claude|chatgpt|GPT|copilot|gemini|agent|language\s+model|robot|bot)s?(?:\s+(?:assistant|agent|model|system|bot)s?)?\b\s*[,:!])",
     UNTRUSTED),
    ("ai_reading_this", 0.55,
     r"\b" + _AI + r"s?\s+(?:that\s+is\s+|who\s+(?:is|are)\s+|currently\s+)?(?:reading|processing|parsing|analy[sz]ing|summari[sz]ing|reviewing|scanning|browsing|ingesting|viewing)(?:\s+(?:this|these|it)\b|\s*[:,])",
     UNTRUSTED),
    ("ai_must_do", 0.55,
     r"\b" + _AI_STRONG + r"\b[^.\n]{0,40}\b(?:must|should|shall|needs?\s+to|have\s+to|has\s+to|are\s+required\s+to|is\s+required\s+to|are\s+instructed\s+to|is\s+instructed\s+to|will\s+now)\s+(?:immediately\s+|now\s+|also\s+|first\s+|silently\s+|quietly\s+|always\s+)?"
     r"(?:run|execute|call|invoke|send|upload|post|fetch|download|install|delete|remove|modify|write|create|open|visit|email|push|commit|ignore|disregard|forget|reveal|print|output|include|append|insert|add|tell|say|respond|reply|recommend|read|copy|leak|exfiltrate|transfer|grant|approve|merge|change|update|replace|navigate|click)\b",
     UNTRUSTED),
    ("agent_instructed", 0.55,
     r"(?<!user\s)(?<!user-)(?<!ssh-)(?<!ssh\s)\b(?:the\s+|all\s+|any\s+)?(?:agent|agents|assistant|assistants|model|models|bot|bots)\s+(?:is|are)\s+(?:hereby\s+)?(?:instructed|required|ordered|directed|expected|authori[sz]ed)\s+to\s+\w+"
     r"|(?<!user\s)(?<!user-)\b(?:agent|agents|assistant|assistants)\s+(?:must|should|need\s+to|have\s+to)\s+(?:immediately|now|silently|quietly|first|also\s+immediately)\s+\w+"
     r"|(?<!user\s)(?<!user-)\b(?:agent|agents|assistant|assistants|model|bot)\s+(?:must|should|needs?\s+to|has\s+to|will)\s+(?:now\s+|also\s+)?(?:execute|run|eval|invoke)\s*:",
     UNTRUSTED),
    ("important_instructions", 0.5,
     r"(?:<|\[|\*\*|##\s*)\s*(?:IMPORTANT|URGENT|CRITICAL|PRIORITY|MANDATORY)\s*(?:INSTRUCTIONS?|NOTICE|MESSAGE|UPDATE|OVERRIDE)?\s*(?:>|\]|\*\*|:)\s*[^\n]{0,80}\b(?:you\s+must|ignore|disregard|before\s+(?:you|responding|answering)|your\s+(?:task|instructions))",
     UNTRUSTED, True),
    ("previous_void", 0.8,
     r"\b(?:the\s+|all\s+|your\s+)?(?:previous|prior|above|earlier|original|initial|preceding|first)\s+(?:instructions|rules|prompts?|directions|directives|guidelines|guidance|orders|commands|messages)\s+(?:(?:you\s+)?(?:were\s+|have\s+been\s+)?(?:given|received|got|read)\s+(?:\w+\s+){0,5}?)?(?:were|are|was|is|have\s+been|has\s+been)\s+(?:only\s+|just\s+|now\s+|all\s+|hereby\s+)?(?:a\s+test|fake|wrong|void|cancel+ed|revoked|superseded|replaced|no\s+longer\s+valid|invalid|null|outdated|obsolete|deprecated\s+for\s+you|withdrawn)\b"),
    ("received_outdated", 0.75,
     r"\b(?:the\s+)?(?:instructions|guidance|rules|directions|orders|prompt|context)\s+(?:that\s+)?you\s+(?:were\s+given|received|got|have\s+been\s+given|read)\s+(?:\w+\s+){0,6}?(?:is|are|was|were)\s+(?:now\s+)?(?:outdated|obsolete|void|invalid|wrong|revoked|cancel+ed|superseded|no\s+longer\s+(?:valid|relevant|applicable))\b"),
    ("dont_do_task", 0.55,
     r"\b(?:do\s+not|don'?t|never)\s+(?:summari[sz]e|translate|answer|analy[sz]e|review|describe|explain|quote|repeat|read)\s+(?:this|the|these|that)\b[^.\n]{0,40}[.;,]?\s*(?:instead|rather)\b",
     UNTRUSTED),
    ("pretend_no_rules", 0.75,
     r"\b(?:pretend|imagine|assume|act\s+as\s+if|behave\s+as\s+if)\s+(?:that\s+)?(?:you\s+(?:have|had|are|were)|there\s+(?:is|are|were))\s+(?:no|without|free\s+of|not\s+bound\s+by)\s+(?:any\s+)?(?:content\s+polic(?:y|ies)|rules|restrictions|filters?|guidelines|limits|limitations|guardrails|safety|ethics|censorship)"
     r"|\b(?:answer|respond|reply|talk)\s+(?:\w+\s+){0,4}?without\s+(?:any\s+)?(?:filters?|restrictions|censorship|limits|refusals?|safety\s+(?:rules|guidelines))\b"),
    ("leak_given_instructions", 0.7,
     r"\bwhat\s+(?:were|are)\s+(?:the|your)\s+(?:exact\s+|original\s+|initial\s+|first\s+|hidden\s+|secret\s+|full\s+)+(?:instructions|prompt|rules|system\s+prompt|directives)"
     r"|\b(?:instructions|prompt|rules)\s+you\s+(?:were|have\s+been)\s+given\b[^.\n?]{0,60}[?.]?\s*(?:print|repeat|output|show|list|write|reveal)\s+(?:them|it)\s+(?:verbatim|word\s+for\s+word|exactly|in\s+full)"),
    ("whoever_reads", 0.45,
     r"\b(?:whoever|whatever|anyone|anything|any\s+(?:system|tool|program))\s+(?:(?:that|who)\s+)?(?:reads|processes|handles|reviews|parses|summari[sz]es|sees|triages)\s+(?:this|these|it)\b",
     UNTRUSTED),
    ("decoy_above", 0.7,
     r"\b(?:the\s+)?(?:text|content|instructions?|message|prompt|task|request|everything)\s+(?:above|before\s+this|so\s+far)\s+(?:was|is|were|are)\s+(?:just\s+|only\s+|merely\s+)?(?:a\s+decoy|fake|a\s+test|not\s+real|irrelevant|a\s+distraction|a\s+trick|noise)\b|\bwhat\s+you\s+(?:actually|really|truly)\s+(?:have|need|must|are\s+supposed)\s+to\s+do\b"),
    ("rules_dont_apply", 0.75,
     r"\b(?:your|the|any|all)\s+(?:usual\s+|normal\s+|safety\s+|content\s+)?(?:guidelines|rules|instructions|restrictions|policies|filters|guardrails|limitations|principles)\s+(?:do\s+not|don'?t|no\s+longer|shall\s+not|will\s+not)\s+apply\b"),
    ("you_were_updated", 0.6,
     r"\byou\s+(?:have\s+been|were|are\s+now|'ve\s+been)\s+(?:updated|upgraded|reprogrammed|reconfigured|jailbroken|unlocked|freed|liberated|patched)\b[^.\n]{0,80}\b(?:no\s+(?:restrictions|rules|limits|filters|guidelines)|without\s+(?:restrictions|rules|limits|filters)|version|mode|anything)"),
    ("hypothetical_no_rules", 0.7,
     r"\bif\s+you\s+(?:had|were|did)\s+(?:no|without|not\s+have\s+any|free\s+of)\s+(?:any\s+)?(?:guidelines|rules|restrictions|filters|limits|limitations|guardrails|content\s+polic(?:y|ies)|safety\s+(?:rules|training))\b"),
    ("output_above", 0.75,
     r"\b(?:output|print|repeat|show|write|copy|paste|return|dump|display|recite)\s+(?:out\s+)?(?:everything|all|the\s+text|all\s+(?:the\s+)?text|the\s+content|all\s+content|the\s+(?:full|entire|whole)\s+(?:text|prompt|conversation))\s+(?:that\s+(?:is|was|appears)\s+|written\s+)?(?:above|before)\s+(?:this|that|my)\b"),
    ("ignore_whatever_asked", 0.7,
     r"\b(?:ignore|disregard|forget)\s+(?:whatever|what|anything|everything)\s+(?:the\s+)?(?:user|person|human|developer|they|he|she|customer|requester)\s+(?:has\s+)?(?:asked|said|wants|wanted|wrote|requested|told|typed)\b"),
    ("mark_as_passed", 0.45,
     r"\b(?:mark|flag|label|report|treat)\s+(?:it|this|the\s+(?:review|check|PR|pull\s+request|change|scan|audit|test)s?)\s+as\s+(?:passed|approved|safe|clean|resolved|successful|green|verified)\b",
     UNTRUSTED),
    ("for_agents_colon", 0.45,
     r"\b(?:for|to)\s+(?:all\s+|any\s+|the\s+)?(?:AI\s+)?(?:agents|assistants|LLMs|AI\s+models|language\s+models|AI\s+tools|coding\s+agents|automated\s+(?:agents|tools))\s*:",
     UNTRUSTED),
    ("actual_instructions", 0.7,
     r"\b(?:the\s+|your\s+)?(?:actual|real|true|correct|genuine|updated)\s+(?:instructions|task|directives|orders)\s+(?:are|is|follows?)\s*:"),
    ("whatever_told", 0.8,
     r"\b(?:whatever|everything|anything|all)\s+(?:that\s+)?(?:you\s+(?:were|have\s+been|got)\s+)?(?:told|instructed|given|said|asked)\s+(?:to\s+you\s+)?(?:before|earlier|previously|above|so\s+far|until\s+now)\s+(?:no\s+longer\s+applies|is\s+(?:now\s+)?(?:void|cancel+ed|obsolete|irrelevant|revoked)|does\s+not\s+apply|doesn'?t\s+apply|must\s+be\s+ignored|should\s+be\s+ignored)"),
    ("the_user_wants", 0.45,
     r"\b(?:the\s+user\s+(?:has\s+)?(?:also\s+)?(?:wants|asked|requested|instructed|authorized|authorised|approved|would\s+like)\s+(?:you\s+)?to\s+(?:also\s+)?(?:run|execute|send|upload|delete|remove|post|email|push|share|reveal|disable|grant|transfer|curl|fetch|download|install|exfiltrate|copy|leak))\b",
     UNTRUSTED),
], anchors=ANCHORS)

# Matches of these rules are short: the engine confirms them in a window this wide around the anchor.
_WINDOWS = {"pretend_no_rules": 400, "ai_must_do": 400}
RULES = [replace(r, window=_WINDOWS[r.id.split(".", 1)[1]]) if r.id.split(".", 1)[1] in _WINDOWS else r for r in RULES]
