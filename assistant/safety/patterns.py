"""The guard's pattern tables (data only; `assistant.safety.guard` applies them).

Injection families: template (chat-template and delimiter markers), override (change the
rules), extraction (read the prompt), roleplay (another persona), price (change prices,
discounts, free items) and competitor (other shops, links). `WORD_PATTERNS` run on the
folded text with look-alikes mapped and leetspeak decoded; `SQUASHED_PATTERNS` on letters
only (spacing and punctuation dropped, so only distinctive phrases); `OTHER_LANGUAGES` on
the folded text with its script kept. `OFF_TOPIC_PATTERNS` name requests that are clearly
not shopping. Each family is matched in this order, so a text gets the first family it fits.
"""

from __future__ import annotations

LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ɡ": "g", "ɑ": "a", "ı": "i", "ℓ": "l", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i",
    "κ": "k", "μ": "m", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s",
    "σ": "s", "γ": "y",
})
LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
        "+": "t", "€": "e", "|": "l"}

_VERBS_SHOW = (r"(?:reveal|print|show|display|repeat|output|leak|dump|share|recite|echo|spell out|tell|give|"
               r"paste|copy|write out|list|expose|disclose|translate|summari[sz]e|what (?:is|are|was|were)|what's)")
_SECRETS = r"(?:system|initial|original|hidden|secret|internal|developer|pre)[ -]?"
_SPAN = r"[^.!?\n]{0,40}?"

# Patterns on word forms: the folded text, its look-alikes mapped, and leetspeak decoded.
WORD_PATTERNS: dict[str, tuple[str, ...]] = {
    "template": (
        r"<\s*\|?\s*/?\s*(?:system|im_start|im_end|im_sep|endoftext|end_of_text|begin_of_text|start_header_id|"
        r"end_header_id|eot_id|start_of_turn|end_of_turn)\s*\|?\s*>",
        r"<\|[a-z_]{2,20}\|>|\[/?\s*(?:inst|sys|system)\s*\]|<<\s*/?\s*sys\s*>>",
        r"(?:^|\n)\s*#{2,}\s*(?:system|instructions?|assistant|user|human|response)\b",
        r"(?:^|[\n\]\)>}\"'])\s*(?:system|assistant|developer)\s*:",
        r"\bsystem (?:override|update|notice|message|instruction|prompt|note)\s*:",
        r"\{\s*[\"']role[\"']\s*:",
        r"</?\s*(?:system|instructions?|prompt|sys|admin|developer)\s*>",
        r"\b(?:end|begin|start) of (?:the )?(?:system|user|assistant|shopper) (?:prompt|message|input|instructions)\b",
    ),
    "override": (
        r"\b(?:ignore|disregard|forget|override|bypass|skip|discard|neglect|circumvent|abandon|"
        r"(?:stop|quit) following|(?:don'?t|do not|no longer) (?:follow|obey))\b" + _SPAN +
        r"\b(?:instructions?|rules?|prompts?|guidelines?|directives?|guardrails?|restrictions?|programming|"
        r"constraints?|system message|polic(?:y|ies))\b",
        r"\b(?:ignore|disregard|forget)\b[^.!?\n]{0,20}\b(?:everything|all|anything)\b[^.!?\n]{0,20}"
        r"\b(?:above|before this|you were told|you've been told|you have been told|so far)\b",
        r"\b(?:new|updated|revised|overriding|real|true) (?:system )?(?:instructions?|rules|prompt|directives?)\b"
        r"\s*(?::|are|is|follow)",
        r"\byour (?:new|real|true|actual) (?:instructions?|rules|task|role|purpose|goal|job|identity)\b",
        r"\bfrom now on,? you(?:'re| are| will be| must| shall| will act| will respond| have no| no longer)\b",
        r"\b(?:admin|sudo|root|debug|maintenance|god|unrestricted|unfiltered|opposite) (?:mode|access|override)\b",
        r"\b(?:i am|i'm) (?:your|the|an?) (?:developer|admin|administrator|creator|owner|programmer|operator)\b",
        r"\b(?:authori[sz]ed|approved|sanctioned) by (?:the |your )?(?:developers?|admins?|management|openai|"
        r"anthropic|hugging ?face|owner)\b",
        r"\bwithout (?:any )?(?:restrictions|filters|limits|guardrails|rules|censorship)\b",
        r"\b(?:no|zero) (?:restrictions|filters|guardrails|censorship|limitations)\b",
    ),
    "extraction": (
        rf"\b{_VERBS_SHOW}\b{_SPAN}\b{_SECRETS}(?:prompt|instructions?|message|rules|context|configuration)\b",
        rf"\b{_VERBS_SHOW}\b{_SPAN}\byour\b[^.!?\n]{{0,20}}\b(?:prompt|instructions?|rules|guidelines|"
        r"configuration|directives|programming|context|training data|setup)\b",
        rf"\b{_VERBS_SHOW}\b[^.!?\n]{{0,25}}\b(?:the |this |that )?(?:prompt|preprompt)\b",
        r"\b(?:system|hidden|secret|initial|developer)\s+(?:prompt|instruction|message)s?\b",
        r"\b(?:what|how) (?:were|are|have|did) you (?:been )?(?:told|instructed|programmed|prompted|configured)\b",
        r"\b(?:repeat|print|output|copy|echo|recite|translate|summari[sz]e|write|show)\b[^.!?\n]{0,30}"
        r"\b(?:everything|all|the text|the words|what|text|words|lines?|messages?)\b[^.!?\n]{0,25}"
        r"\b(?:above|before|preceding|earlier|so far|prior)\b",
        r"\byour (?:first|initial|opening|very first|original) (?:lines?|sentences?|messages?|words|instructions?)\b",
        r"\b(?:verbatim|word for word)\b",
        r"\b(?:starts?|starting|begins?|beginning) with\W{0,3}you are\b",
    ),
    "roleplay": (
        r"\byou(?:'re| are) (?:now|no longer|unrestricted|jailbroken|not bound|not a shop|evil|dan)\b",
        r"\bpretend(?:ing)? (?:to be|you(?:'re| are| were)?|that you|that)\b",
        r"\b(?:imagine|suppose|assume|what if) (?:that )?you (?:are|were|had|have|could)\b[^.!?\n]{0,40}"
        r"\b(?:no rules|no restrictions|no limits|no instructions|no filters|unrestricted|an? (?:ai|bot|model|"
        r"assistant|llm)|another|different|evil|human|free to)\b",
        r"\byou\b[^.!?\n]{0,15}\b(?:act|behave|respond|answer|reply|speak|talk)\s+(?:as|like)\s+(?:if|though|a|an|my|"
        r"the|dan|someone|somebody|you(?:'re| are| were))\b",
        r"(?:^|[.!?:\n]\s*)(?:please\s+|now\s+|ok\s+)?(?:act|behave|respond|speak|talk)\s+(?:as|like)\s+"
        r"(?:if|though|a|an|my|the)\b",
        r"\brole[ -]?play(?:ing)?\b|\b(?:stay|remain|keep|get) in character\b|\bbreak character\b|"
        r"\b(?:new|different|alternate) persona\b",
        r"\blet'?s play a game\b",
        r"\b(?:jailbreak|jailbroken|developer mode|do anything now|dan mode|dan prompt)\b",
        r"\b(?:you are|you're|act as|be|become)\s+dan\b",
        r"\b(?:hypothetically|in a hypothetical|for a (?:story|novel|screenplay|poem)|in a (?:story|novel|fictional))"
        r"\b[^.!?\n]{0,80}\b(?:prompt|instructions|rules|free|price|£0)\b",
        r"\b(?:evil|unfiltered|uncensored) (?:twin|assistant|ai|bot|version|mode)\b",
    ),
    "price": (
        r"\b(?:set|change|make|update|put|mark|reduce|lower|drop|cut|override|adjust|fix|edit)\b[^.!?\n]{0,50}"
        r"\bprices?\b(?!\s*(?:range|limit|point|cap|bracket|band))[^.!?\n]{0,30}\b(?:to|=|at|as)\s*[£$€]?\s*\d",
        r"\b(?:price|cost|total|charge)[sd]?\b[^.!?\n]{0,30}\b(?:to|=|at|of|be|is|are|as)\s*(?:[£$€]\s*)?"
        r"(?:0+(?:[.,]0+)?(?![.,]?\d)|0?[.,]01\b|1p\b|one penny|a penny|nothing|zero|free|-\s*\d)",
        r"[£$€]\s*0+(?:[.,]0+)?(?![.,]?\d)|\b0+(?:[.,]0+)? ?(?:pounds?|quid|gbp|dollars?|euros?)\b|\bzero pounds\b",
        r"\b(?:for|at) (?:free|no cost|no charge|nothing)\b|\bfree of charge\b|\bcosts? nothing\b",
        r"\b(?:make|let|get|give)\s+(?:it|them|everything|all(?: of it)?|the (?:bundle|order|cart|items?))\s+"
        r"(?:for\s+)?free\b",
        r"\b(?:everything|it|all|the (?:bundle|order|cart|items?)) (?:is|are|should be|will be|must be) free\b",
        r"\b(?:make|let|get|give|mark|set)\s+(?:the\s+)?(?:first|second|third|fourth|fifth|last|\d+(?:st|nd|rd|th)?|"
        r"item \d+|number \d+)(?:\s+(?:one|item))?\s+(?:for\s+)?free\b",
        r"\b\d{1,3}\s?%\s*(?:off|discount)\b|\b(?:discount|promo|coupon|voucher) code\b",
        r"\bapply (?:a |the |my |an? )?(?:discount|coupon|promo|voucher)\b|\bgive me\b[^.!?\n]{0,20}\bdiscount\b",
        r"\b(?:staff|employee|secret|special) discount\b|\bprice match\b",
        r"\b(?:negative|minus) (?:prices?|costs?|total)\b|\b(?:pay|charge me) (?:nothing|£0|0)\b",
    ),
    "competitor": (
        r"\b(?:other|another|competitor'?s?|competing|rival|different|third[- ]party)\s+(?:shop|store|retailer|"
        r"website|site|seller|marketplace|vendor|merchant)s?\b",
        r"\b(?:amazon|ebay|etsy|walmart|argos|ikea|john lewis|tesco|asda|sainsbury'?s|aliexpress|alibaba|temu|"
        r"shein|wayfair|costco|harrods|selfridges|waitrose|marks (?:and|&) spencer|notonthehighstreet|lakeland|"
        r"dunelm|hobbycraft|currys|lidl|aldi|zalando|rakuten|best buy|home depot|flipkart|taobao|"
        r"mercado ?libre|cdiscount)\b",
        r"\b(?:elsewhere|somewhere else)\b|\b(?:not|n't)\s+(?:sold|stocked|available|carried)\s+(?:here|in this shop)\b",
        r"\bhttps?://|\bwww\.",
    ),
}

# Letters only (spacing, punctuation and digits dropped): distinctive phrases only, since
# word boundaries are gone.
SQUASHED_PATTERNS: dict[str, tuple[str, ...]] = {
    "override": (
        r"(?:ignore|disregard|forget|override|bypass)(?:all|any|every|of|the|your|my|these|those|previous|prior|"
        r"above|earlier|preceding|original|initial|system|safety|shop|current|existing)*(?:instructions?|rules|"
        r"prompts?|guidelines|directives|guardrails|restrictions|programming)",
    ),
    "extraction": (
        r"(?:system|developer|hidden|initial|internal)(?:prompts?|instructions)|secretprompt|systemmessage",
        r"(?:reveal|print|show|display|repeat|output|leak|dump|recite)(?:me|us)?(?:out)?(?:the|your|its|all|full|"
        r"entire|exact|complete|verbatim|whole)*(?:system|initial|original|hidden|secret|internal)?(?:prompt|"
        r"preprompt)",
    ),
    "roleplay": (r"jailbreak|developermode|doanythingnow",),
}

# Common phrasings in other languages, on the folded text (scripts kept).
OTHER_LANGUAGES: dict[str, tuple[str, ...]] = {
    "override": (
        r"\b(?:ignore[rz]?|oublie[rz]?|ne tiens pas compte)\b.{0,40}\b(?:instructions?|consignes?|regles|prompt|directives)\b",
        r"\b(?:ignorier\w*|vergiss\w*|missachte\w*)\b.{0,40}\b(?:anweisung\w*|regeln?|vorgaben?|instruktion\w*|"
        r"prompt|richtlinien?)\b",
        r"\b(?:ignora\w*|olvida\w*|omite|descarta\w*)\b.{0,40}\b(?:instrucciones|reglas|indicaciones|prompt|"
        r"directrices)\b",
        r"\b(?:ignora\w*|dimentica\w*)\b.{0,40}\b(?:istruzioni|regole|prompt|indicazioni)\b",
        r"\b(?:ignore|ignora\w*|esqueca|esquece)\b.{0,40}\b(?:instrucoes|regras|prompt)\b",
        r"\b(?:negeer|vergeet)\b.{0,40}\b(?:instructies|regels|prompt)\b",
        r"\b(?:zignoruj|ignoruj|zapomnij)\b.{0,40}\b(?:instrukcj\w*|zasad\w*|polecen\w*|prompt)",
        r"(?:игнорир\w*|проигнорир\w*|забудь\w*|не обращай внимани\w*).{0,40}(?:инструкци\w*|правил\w*|"
        r"промпт\w*|указани\w*)",
        r"(?:talimat\w*|kural\w*).{0,20}(?:yok say|gormezden gel|unut)",
        r"(?:忽略|无视|忘记|忘掉|不要理会|不理会|跳过|無視|忽略掉).{0,15}(?:指令|指示|说明|規則|规则|提示|设定|要求)",
        r"(?:指示|命令|ルール|プロンプト|規則|設定).{0,8}(?:無視|忘れ)",
        r"(?:지시|명령|규칙|프롬프트|지침).{0,8}(?:무시|잊어)",
        r"تجاهل.{0,30}(?:التعليمات|القواعد|الأوامر)",
        r"(?:निर्देशों|नियमों).{0,20}(?:अनदेखा|नज़रअंदाज़|भूल)",
    ),
    "extraction": (
        r"\b(?:prompt|invite|message|instructions?|consignes) (?:du |de )?systeme\b",
        r"\b(?:montre|affiche|revele|donne|repete|dis)[-\w]*\b.{0,40}\b(?:prompt|instructions|consignes)\b",
        r"\bsystem-?(?:prompt|anweisung\w*|nachricht)\b",
        r"\b(?:zeig\w*|gib\w*|nenne?\w*|verrate?\w*|wiederhole?\w*)\b.{0,40}\b(?:prompt|anweisungen|instruktionen)\b",
        r"\b(?:prompt|mensaje|instrucciones) del sistema\b",
        r"\b(?:muestra\w*|revela\w*|dime|repite\w*|imprime)\b.{0,40}\b(?:prompt|instrucciones)\b",
        r"\bprompt (?:di|do) sistema\b|\bsysteemprompt\b|\bprompt systemowy\b",
        r"\b(?:mostra\w*|rivela\w*|ripeti\w*|dimmi|mostre|revele|repita)\b.{0,40}\b(?:prompt|istruzioni|instrucoes)\b",
        r"системн\w*\s+(?:промпт\w*|подсказк\w*|инструкци\w*|сообщени\w*)",
        r"(?:покажи|выведи|повтори|раскрой|напиши).{0,40}(?:промпт\w*|инструкци\w*)",
        r"sistem (?:istemi|komutu|promptu)",
        r"(?:系统|初始|原始|隐藏)(?:提示|指令|消息|设定)|(?:显示|输出|打印|告诉我|重复|泄露|给我看).{0,15}(?:提示词|指令|设定)",
        r"システムプロンプト|(?:プロンプト|指示).{0,8}(?:表示|見せ|教え|出力)",
        r"시스템\s*프롬프트|(?:موجه|تعليمات) النظام|सिस्टम प्रॉम्प्ट",
    ),
    "roleplay": (
        r"\btu es (?:maintenant|desormais)\b|\bfais semblant\b",
        r"\bdu bist (?:jetzt|nun|ab sofort)\b|\btu so,? als\b",
        r"\b(?:ahora eres|finge|actua como)\b|\b(?:ora sei|fingi|fai finta)\b|\b(?:agora voce e|finja)\b",
        r"ты теперь|притворись|你现在是|扮演|あなたは今",
    ),
    "price": (
        r"\b(?:prix|preis\w*|precio\w*|prezz\w*|preco\w*|prijs\w*)\b.{0,30}"
        r"\b(?:0|zero|cero|null|gratis|gratuit|kostenlos|nada|rien)\b",
        r"(?:价格|价钱|售价).{0,10}(?:0|零|免费)|(?:цен\w*).{0,20}(?:\b0\b|ноль|бесплатн\w*)",
    ),
}

OFF_TOPIC_PATTERNS: dict[str, tuple[str, ...]] = {
    "weather": (r"\b(?:what'?s|what is|how'?s|how is) the (?:weather|forecast|temperature)\b(?!\s*(?:proof|resistant))",
                r"\b(?:will it|is it going to|is it)\s+(?:rain|snow|be sunny|be hot|be cold|be warm)\b",
                r"\bweather (?:forecast|today|tomorrow|tonight|this week(?:end)?|in [a-z]+)\b"),
    "politics": (r"\b(?:vote|voting|election|prime minister|president|parliament|brexit|political part(?:y|ies)|"
                 r"democrats?|republicans?|tor(?:y|ies)|labour party)\b",),
    "homework": (r"\bsolve\b[^.?!\n]{0,40}(?:=|\bfor [a-z]\b|\bequation)",
                 r"\b(?:what'?s|what is|calculate|compute|how much is)\s+-?\d+(?:\.\d+)?\s*(?:times|plus|minus|"
                 r"multiplied by|divided by|[*/^+x-])\s*-?\d+",
                 r"\b(?:essay|homework|assignment|dissertation|thesis|exam question)\b",
                 r"\bwrite (?:me )?(?:a|an|my)\s+(?:\w+\s+)?(?:essay|poem|story|report|cover letter|speech|song|"
                 r"article|summary)\b",
                 r"\bexplain\b[^.?!\n]{0,40}\b(?:quantum|relativity|theory|physics|chemistry|biology|economics|"
                 r"blockchain|photosynthesis|evolution)\b"),
    "code": (r"\b(?:python|javascript|typescript|java|c\+\+|sql|regex|html|css|rust|golang|bash)\b[^.?!\n]{0,40}"
             r"\b(?:function|code|script|bug|error|program|query|class|loop)\b",
             r"\b(?:typeerror|valueerror|syntaxerror|keyerror|traceback|nullpointerexception|segfault|stack trace)\b",
             r"\b(?:fix|debug) (?:this|my) (?:bug|code|error|program|script)\b"),
    "medical": (r"\bhow (?:do|should|can) i (?:treat|cure|heal|get rid of)\b",
                r"\b(?:symptoms|dosage|diagnos(?:e|is)|prescription)\b"),
    "finance": (r"\bshould i (?:buy|sell|invest in)\s+(?:bitcoin|crypto|stocks?|shares|gold|ethereum|bonds)\b",
                r"\b(?:bitcoin|cryptocurrenc(?:y|ies)|stock market|share price|interest rates?|mortgage)\b"),
    "trivia": (r"\b(?:what|which) is the capital of\b", r"\bwho (?:won|wins|is winning|invented|wrote|discovered)\b",
               r"\bwhat time is it\b|\bwhat'?s the time\b|\bwhat day is it\b",
               r"\btell me (?:a|an|another) (?:joke|riddle|fun fact|story)\b",
               r"\btranslate\b[^.?!\n]{0,50}\b(?:into|to) [a-z]+\b",
               r"\b(?:football|cricket|tennis|rugby|match|game)\b[^.?!\n]{0,25}\b(?:last night|yesterday|score|result)\b"),
    "about_me": (r"\bhow old are you\b|\bare you (?:conscious|sentient|alive|human|real|a robot|an ai)\b"
                 r"|\bdo you have (?:feelings|emotions|a soul)\b|\bwhat (?:model|llm) are you\b"
                 r"|\bwho (?:made|created|built|trained) you\b",),
    "other_services": (r"\brecommend (?:me )?(?:a |an |some )?(?:good |great )?(?:movies?|films?|tv shows?|series|songs?|"
                       r"music|podcasts?|restaurants?|hotels?|holidays?)\b",
                       r"\bbook (?:me )?(?:a |an )?(?:flight|hotel|taxi|table|train)\b"),
}
