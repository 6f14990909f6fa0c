"""Instruction overrides in other major languages (one row per language and phrasing).

Each row needs the "previous/all" + "instructions" pair (or the language's persona switch), so
ordinary prose in that language that says "ignore" or "instructions" alone passes.
"""
from ..rule import rules

FAMILY = "instruction_override"

ANCHORS = {
    "lang.fr": r"(?:instructions|consignes|règles|regles|directives|ordres|indications)\s+(?:précédentes|precedentes|antérieures|anterieures|ci-dessus|d'avant|initiales|originales|du\s+système|du\s+systeme)",
    "lang.pl": r"(?:poprzednie|wcześniejsze|wczesniejsze|powyższe|powyzsze|dotychczasowe)\s+(?:instrukcje|polecenia|zasady|wytyczne|instrukcjach|poleceniach)",
    "lang.vi": r"(?:hướng\s+dẫn|chỉ\s+dẫn|chỉ\s+thị|lệnh|quy\s+tắc|yêu\s+cầu)\s+(?:trước|ở\s+trên|ban\s+đầu)",
    "lang.ru_persona": r"(?:теперь|отныне|с\s+этого\s+момента)\s+(?:ты|вы)",
    "lang.ru_reveal": r"(?:системный\s+промпт|системные\s+инструкции|исходные\s+инструкции|скрытые\s+инструкции|промпт)",
    "lang.de_reveal": r"(?:System-?Prompt|Systemanweisungen|System-Anweisungen|Systemnachricht|ursprünglichen\s+Anweisungen|geheimen\s+Anweisungen)",
    "lang.uk": r"(?:попередні|минулі|вищезазначені|початкові|системні)\s+(?:інструкції|вказівки|команди|правила)",
    "lang.es": r"(?:instrucciones|indicaciones|reglas|órdenes|ordenes|directrices|normas)\s+(?:anteriores|previas|de\s+arriba|precedentes|originales|del\s+sistema)",
    "lang.de": r"(?:vorherigen|vorigen|bisherigen|obigen|vorangegangenen|früheren|frueheren|vorhergehenden|ursprünglichen|urspruenglichen|alten)\s+(?:Anweisungen|Instruktionen|Befehle|Regeln|Vorgaben|Anordnungen|Richtlinien)",
    "lang.ru": r"(?:предыдущие|прежние|прошлые|вышеуказанные|вышеизложенные|изначальные|исходные|системные|данные\s+ранее|старые|все)\s+(?:инструкции|указания|команды|правила|установки|инструкций|указаний|правил)",
}

RULES = rules(FAMILY, [
    # Spanish
    ("lang.es", 0.9, r"\b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olviden|omite|descarta|haz\s+caso\s+omiso\s+(?:a|de))\s+(?:(?:todas|todos|las|los|tus|sus|mis|de)\s+){0,3}(?:instrucciones|indicaciones|reglas|órdenes|ordenes|directrices|normas)\s+(?:anteriores|previas|de\s+arriba|precedentes|originales|del\s+sistema)"),
    ("lang.es_yours", 0.85, r"\b(?:ignora|ignore|olvida|olvide)\s+(?:todas\s+)?(?:tus|sus)\s+(?:instrucciones|reglas|indicaciones|directrices)"),
    ("lang.es_persona", 0.7, r"\b(?:a\s+partir\s+de\s+ahora|desde\s+ahora)\s*,?\s+(?:eres|serás|seras|actuarás|actuaras|debes|vas\s+a)\b"),
    ("lang.es_reveal", 0.75, r"\b(?:revela|muestra|imprime|repite|dime)\s+(?:tu|el|las|tus)\s+(?:prompt\s+(?:del\s+sistema|de\s+sistema)|instrucciones\s+(?:del\s+sistema|ocultas|iniciales|originales)|mensaje\s+del\s+sistema)"),
    # French
    ("lang.fr", 0.9, r"\b(?:ignore[rsz]?|ignorez|oublie[rsz]?|oubliez|néglige[rz]?|negligez|ne\s+tiens\s+pas\s+compte\s+des|ne\s+tenez\s+pas\s+compte\s+des|fais\s+abstraction\s+des|faites\s+abstraction\s+des)\s+(?:(?:toutes|tous|les|tes|vos|des|mes|de|ces)\s+){0,3}(?:instructions|consignes|règles|regles|directives|ordres|indications)\s+(?:précédentes|precedentes|antérieures|anterieures|ci-dessus|d'avant|initiales|originales|du\s+système|du\s+systeme)"),
    ("lang.fr_yours", 0.85, r"\b(?:ignore[rsz]?|ignorez|oublie[rsz]?|oubliez)\s+(?:toutes\s+|tous\s+)?(?:vos|tes)\s+(?:instructions|consignes|règles|regles|directives)"),
    ("lang.fr_persona", 0.7, r"\b(?:tu\s+es|vous\s+êtes|vous\s+etes)\s+(?:maintenant|désormais|desormais|dorénavant|dorenavant)\s+(?:un|une|le|la|en\s+mode)\b"),
    ("lang.fr_reveal", 0.75, r"\b(?:révèle|revele|révélez|affiche|affichez|montre|montrez|répète|repete|répétez|donne-moi|donnez-moi)\s+(?:ton|votre|le|tes|vos|les)\s+(?:prompt\s+système|prompt\s+systeme|prompt\s+initial|instructions\s+(?:système|systeme|cachées|cachees|initiales|secrètes|secretes)|message\s+système|message\s+systeme)"),
    # German
    ("lang.de", 0.9, r"\b(?:ignoriere|ignorier|ignorieren\s+Sie|ignoriert|vergiss|vergessen\s+Sie|vergesst|missachte|missachten\s+Sie|übergehe|uebergehe)\s+(?:(?:alle|sämtliche|saemtliche|die|deine|Ihre|bisherigen|meine)\s+){0,3}(?:vorherigen|vorigen|bisherigen|obigen|vorangegangenen|früheren|frueheren|vorhergehenden|ursprünglichen|urspruenglichen|alten)\s+(?:Anweisungen|Instruktionen|Befehle|Regeln|Vorgaben|Anordnungen|Richtlinien)"),
    ("lang.de_all", 0.85, r"\b(?:ignoriere|ignorier|ignorieren\s+Sie|vergiss|vergessen\s+Sie)\s+(?:alle|sämtliche|saemtliche|deine|Ihre)\s+(?:Anweisungen|Instruktionen|Regeln|Vorgaben|Richtlinien)\b"),
    ("lang.de_persona", 0.7, r"\b(?:du\s+bist\s+(?:jetzt|nun|ab\s+sofort)|Sie\s+sind\s+(?:jetzt|nun|ab\s+sofort)|ab\s+jetzt\s+bist\s+du)\s+(?:ein|eine|der|die|im)\b"),
    ("lang.de_reveal", 0.75, r"\b(?:zeige|zeig|gib|nenne|wiederhole|verrate)\s+(?:mir\s+)?(?:deinen|deine|den|die|Ihren|Ihre)\s+(?:System-?Prompt|Systemanweisungen|System-Anweisungen|Systemnachricht|ursprünglichen\s+Anweisungen|geheimen\s+Anweisungen)"),
    # Portuguese
    ("lang.pt", 0.9, r"\b(?:ignore|ignora|ignorar|ignorem|esqueça|esqueca|esquece|esquecer|desconsidere|desconsidera|despreze)\s+(?:(?:todas|todos|as|os|suas|tuas|de|das|minhas)\s+){0,3}(?:instruções|instrucoes|orientações|orientacoes|regras|ordens|diretrizes|indicações|indicacoes)\s+(?:anteriores|prévias|previas|acima|originais|do\s+sistema)"),
    ("lang.pt_persona", 0.7, r"\b(?:a\s+partir\s+de\s+agora|de\s+agora\s+em\s+diante)\s*,?\s+(?:você\s+é|voce\s+e|tu\s+és|tu\s+es|você\s+será|você\s+deve|voce\s+deve)\b"),
    # Italian
    ("lang.it", 0.9, r"\b(?:ignora|ignorate|ignori|dimentica|dimenticate|dimentichi|trascura|non\s+seguire|non\s+considerare)\s+(?:(?:tutte|tutti|le|i|gli|tue|tuoi|sue|mie|di)\s+){0,3}(?:istruzioni|indicazioni|regole|direttive|ordini|consegne)\s+(?:precedenti|di\s+prima|sopra|iniziali|originali|del\s+sistema)"),
    ("lang.it_persona", 0.7, r"\b(?:d'ora\s+in\s+poi|da\s+ora\s+in\s+poi|da\s+adesso)\s*,?\s+(?:sei|sarai|devi|agirai)\b"),
    # Dutch
    ("lang.nl", 0.9, r"\b(?:negeer|negeert|vergeet|ignoreer)\s+(?:(?:alle|de|je|jouw|uw|mijn)\s+){0,3}(?:vorige|eerdere|voorgaande|bovenstaande|oorspronkelijke|oude)\s+(?:instructies|aanwijzingen|regels|opdrachten|richtlijnen)"),
    # Polish
    ("lang.pl", 0.9, r"(?:zignoruj|ignoruj|zapomnij\s+o|pomiń|pomin)\s+(?:(?:wszystkie|wszelkie|swoje|moje)\s+){0,2}(?:poprzednie|wcześniejsze|wczesniejsze|powyższe|powyzsze|dotychczasowe)\s+(?:instrukcje|polecenia|zasady|wytyczne|instrukcjach|poleceniach)"),
    # Turkish
    ("lang.tr", 0.9, r"(?:önceki|onceki|yukarıdaki|yukaridaki|daha\s+önceki|tüm|tum|bütün|butun)\s+(?:(?:tüm|tum|bütün|butun)\s+)?(?:talimatları|talimatlari|talimatlar[ıi]n[ıi]|komutları|komutlari|kuralları|kurallari|yönergeleri|yonergeleri)\s+(?:yok\s+say|görmezden\s+gel|gormezden\s+gel|unut|dikkate\s+alma|göz\s+ardı\s+et|goz\s+ardi\s+et)"),
    # Indonesian / Malay
    ("lang.id", 0.9, r"\b(?:abaikan|lupakan|acuhkan)\s+(?:(?:semua|seluruh|segala)\s+)?(?:instruksi|perintah|arahan|aturan|petunjuk)\s+(?:sebelumnya|di\s+atas|terdahulu|awal)"),
    # Vietnamese
    ("lang.vi", 0.9, r"(?:bỏ\s+qua|phớt\s+lờ|quên\s+đi|quên|lờ\s+đi)\s+(?:(?:tất\s+cả|mọi|toàn\s+bộ)\s+)?(?:các\s+|những\s+)?(?:hướng\s+dẫn|chỉ\s+dẫn|chỉ\s+thị|lệnh|quy\s+tắc|yêu\s+cầu)\s+(?:trước\s+đó|trước\s+đây|trước|ở\s+trên|ban\s+đầu)"),
    # Russian
    ("lang.ru", 0.9, r"(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|не\s+обращай\s+внимания\s+на|не\s+обращайте\s+внимания\s+на|не\s+следуй|отбрось|отмени)\s+(?:(?:все|всё|свои|твои|ваши|мои)\s+){0,2}(?:предыдущие|прежние|прошлые|вышеуказанные|вышеизложенные|изначальные|исходные|системные|данные\s+ранее|старые|все)\s+(?:инструкции|указания|команды|правила|установки|инструкций|указаний|правил)"),
    ("lang.ru_persona", 0.7, r"(?:теперь\s+ты|отныне\s+ты|с\s+этого\s+момента\s+ты|теперь\s+вы|отныне\s+вы)\s+(?:—\s+|-\s+)?(?:не\s+)?(?:являешься|будешь|являетесь|будете|\w+ный|\w+ая|DAN|свободн)"),
    ("lang.ru_reveal", 0.75, r"(?:покажи|выведи|раскрой|повтори|напиши|покажите|выведите)\s+(?:мне\s+)?(?:свой|свои|твой|твои|ваш|ваши)\s+(?:системный\s+промпт|системные\s+инструкции|исходные\s+инструкции|скрытые\s+инструкции|промпт)"),
    # Ukrainian
    ("lang.uk", 0.9, r"(?:ігноруй|ігноруйте|проігноруй|забудь|забудьте|не\s+зважай\s+на)\s+(?:(?:всі|усі|свої|твої)\s+){0,2}(?:попередні|минулі|вищезазначені|початкові|системні)\s+(?:інструкції|вказівки|команди|правила)"),
    # Chinese (simplified and traditional)
    ("lang.zh", 0.9, r"(?:忽略|忽视|无视|無視|忽略掉|不要理会|不要理會|不要遵守|不要遵循|忘记|忘記|忘掉|抛弃|拋棄|丢弃|丟棄)\s*(?:掉)?\s*(?:你|您)?\s*(?:的)?\s*(?:之前|以前|先前|前面|上面|上述|以上|此前|原来|原來|原有|原始|所有|全部|一切|之前所有|前述)\s*(?:的|所有|全部|一切)?\s*(?:的)?\s*(?:所有|全部)?\s*(?:的)?\s*(?:指令|指示|说明|說明|提示|提示词|提示詞|规则|規則|命令|要求|设定|設定|约束|約束)"),
    ("lang.zh_persona", 0.7, r"(?:从现在开始|從現在開始|从现在起|從現在起|现在起|今后)\s*[,，]?\s*(?:你是|你将|你將|你要|你必须|你必須|你扮演|你不再)"),
    ("lang.zh_reveal", 0.75, r"(?:输出|輸出|显示|顯示|打印|告诉我|告訴我|重复|重複|泄露|透露|展示)\s*(?:你的|您的|你|)\s*(?:系统提示词|系統提示詞|系统提示|系統提示|系统指令|系統指令|初始指令|原始指令|隐藏指令|隱藏指令|系统消息|系統消息)"),
    # Japanese
    ("lang.ja", 0.9, r"(?:以前|前|上記|以上|上|これまで|先|今まで|既存|元|最初|全て|すべて)\s*の\s*(?:すべての|全ての|全部の)?\s*(?:指示|命令|指令|ルール|規則|プロンプト|設定|制約)\s*(?:を|は)\s*(?:すべて|全て)?\s*(?:無視|忘れ|破棄|取り消)"),
    ("lang.ja_reveal", 0.75, r"(?:システムプロンプト|システム\s*メッセージ|初期指示|隠された指示|元の指示)\s*(?:を|の内容を)\s*(?:表示|出力|教えて|見せて|繰り返|公開|開示)"),
    ("lang.ja_persona", 0.7, r"(?:今から|これから|今後)\s*(?:、|,)?\s*(?:あなたは|君は|お前は)\s*(?:制限のない|自由な|DAN|別の|新しい)"),
    # Korean
    ("lang.ko", 0.9, r"(?:이전|앞의|위의|앞선|기존|모든|이전의|원래)\s*(?:의\s*)?(?:모든\s*)?(?:지시|명령|지침|규칙|지시사항|지시\s*사항|명령어|프롬프트|설정)\s*(?:을|를|은|는|들을|들은)?\s*(?:모두\s*|전부\s*)?(?:무시|잊어|잊고|버려|따르지)"),
    ("lang.ko_reveal", 0.75, r"(?:시스템\s*프롬프트|시스템\s*메시지|초기\s*지시|숨겨진\s*지시)\s*(?:를|을)?\s*(?:보여|출력|알려|공개|반복)"),
    # Arabic
    ("lang.ar", 0.9, r"(?:تجاهل|تجاهلي|تجاهلوا|انس|انسى|أهمل|اهمل|لا\s+تتبع)\s+(?:(?:جميع|كل|كافة)\s+)?(?:التعليمات|الأوامر|الاوامر|الإرشادات|الارشادات|القواعد|التوجيهات)\s+(?:السابقة|الأصلية|الاصلية|أعلاه|اعلاه|المذكورة)"),
    # Hindi
    ("lang.hi", 0.9, r"(?:पिछले|पिछली|पहले\s+के|पहले\s+दिए\s+गए|ऊपर\s+के|सभी|सारे)\s+(?:सभी\s+|सारे\s+)?(?:निर्देशों|निर्देश|आदेशों|आदेश|नियमों|नियम)\s+(?:को\s+)?(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल|भूलो|भूल\s+जाओ|अनसुना)"),
    # Persian
    ("lang.fa", 0.9, r"(?:دستورالعمل‌های|دستورالعمل\s*های|دستورات|قوانین)\s+(?:قبلی|پیشین|بالا)\s+را\s+(?:نادیده\s+بگیر|فراموش\s+کن)"),
    # Thai
    ("lang.th", 0.9, r"(?:เพิกเฉย|ไม่ต้องสนใจ|ลืม|ละเว้น)\s*(?:ต่อ)?\s*(?:คำสั่ง|คำแนะนำ|กฎ)\s*(?:ทั้งหมด)?\s*(?:ก่อนหน้า|ก่อนหน้านี้|ข้างต้น|เดิม)"),
], anchors=ANCHORS)
