"""More wording banks for the parse data: people, occasions, interests and themes (the
vocabulary of the needs book), money in words and other currencies, ranges and per-item
caps, party sizes in words, exclusion forms, bundle positions in words, chatty openings and
endings. `finetune.shopper_requests` assembles messages from them.

Placeholders: {need}, {money}, {low}, {high}, {cap}, {party}, {excl}, {pos}, {item}. A hand-
written test message never fills one of these templates (tests/test_parse_set.py).
"""

from __future__ import annotations

PEOPLE = (
    "my nan", "my mum", "my dad", "my boss", "a colleague", "my sister", "my brother",
    "my brother in law", "the neighbours", "my best mate", "my daughter", "my son", "my teacher",
    "my grandad", "my other half", "a new mum", "my auntie", "my uncle", "my in-laws", "my flatmate",
    "my girlfriend", "my boyfriend", "my wife", "my husband", "my niece", "my nephew", "our host",
    "a friend", "my gran", "my stepmum", "my godson", "my goddaughter", "the team at work",
    "my son's teacher", "my mother in law", "a work friend", "my cousin", "my partner",
)
POSSESSIVE_EVENTS = (
    "birthday", "80th", "60th birthday", "30th", "leaving do", "retirement", "hen do", "wedding",
    "anniversary", "housewarming", "engagement", "graduation", "christening", "baby shower",
    "first christmas in the new house", "birthday party", "new job", "40th",
)
GIFT_EVENTS = (
    "a leaving present", "a get well soon gift", "a thank you present", "a retirement gift",
    "a birthday present", "a housewarming gift", "a new baby gift", "a sympathy gift",
    "a christmas present", "a little treat", "a stocking filler", "a secret santa gift",
    "a welcome home gift", "a good luck present", "an anniversary gift", "a mother's day present",
    "a father's day present", "an easter gift", "a valentine's gift", "a congratulations present",
)
INTERESTS = (
    "loves baking", "is into gardening", "loves cats", "is mad about dogs", "loves birds",
    "drinks a lot of tea", "loves coffee", "knits", "reads loads", "likes to sew", "loves cooking",
    "is into crafts", "loves vintage stuff", "likes camping", "collects mugs", "loves candles",
    "is into stationery", "likes feeding the birds", "loves pink", "loves anything french",
    "paints", "likes picnics", "loves christmas", "is always in the garden", "has a new puppy",
)
OCCASION_PHRASES = (
    "a tea party", "a garden party", "a bbq", "a barbecue", "a picnic", "a bake sale",
    "a school fair", "a dinner party", "a sleepover", "a camping trip", "a street party",
    "new year's eve", "a christmas dinner", "decorating the tree", "halloween", "easter",
    "a baby shower", "a hen party", "a kids' birthday party", "a christening", "a wedding",
    "bonfire night", "a housewarming", "a summer party", "a rainy day indoors", "advent",
    "a children's party", "an afternoon tea", "a girls' night in", "a games night",
)
THEMES = (
    "a retro kitchen", "a vintage look", "a shabby chic bathroom", "a cosy reading corner",
    "a scandi christmas", "a country cottage kitchen", "a kids' bedroom", "a new flat",
    "a spring table", "a cosy living room", "a student room", "a home office", "a nursery",
    "a garden shed", "a summer table", "a rustic wedding", "a woodland theme", "a french style kitchen",
)
PARTNERS = ("partner", "husband", "wife", "boyfriend", "girlfriend", "other half", "mum", "sister")

# Opening words around a need. {need} is the whole need phrase.
NEED_OPENERS = (
    "looking for something for {need}", "need a present for {need}", "what can i get for {need}",
    "shopping for {need} today", "got anything for {need}?", "ideas please - {need}",
    "{need}: what would you recommend?", "i have to sort out {need}", "can you help me with {need}",
    "after a few bits for {need}", "any suggestions for {need}?", "we're doing {need}, what do we need",
    "could you pick out some things for {need}", "{need}. help!", "i've got to buy for {need}",
    "what would make a good gift for {need}", "trying to find something for {need}",
    "need some inspiration for {need}", "stuck on what to get for {need}", "what do you have for {need}",
    "i'd love a few ideas for {need}", "{need} - can you suggest a set?", "please help, {need}",
    "have you got a good set for {need}", "need to get sorted for {need}", "recommendations for {need}?",
    "show me what you'd pick for {need}", "I'm buying for {need}", "what goes down well for {need}?",
    "could you do me a bundle for {need}", "i want to treat {need}", "{need} coming up, ideas?",
)
CHEAPEST_OPENERS = (
    "the cheapest {need} bundle you can do", "cheapest possible set for {need}",
    "what's the cheapest you can do for {need}", "{need} as cheap as possible",
    "i want the lowest price bundle for {need}", "{need} on a shoestring - cheapest you've got",
)

MONEY_DIGITS = ("£{n}", "{n} quid", "{n} pounds", "£{n}.00", "{n}gbp", "{n} gbp", "${n}", "{n} dollars",
                "{n} bucks", "€{n}", "{n} euros", "{n}£", "£ {n}", "{n} pound", "{n}ish quid")
MONEY_WORDS = ("{w} pounds", "{w} quid", "{w} pound", "{w} dollars", "{w} bucks", "{w} euros")
MONEY_SLANG = {5: ("a fiver",), 10: ("a tenner",), 20: ("a score", "twenty quid"), 50: ("fifty quid", "a fifty")}

BUDGET_AFTER = (
    ", {money}", " for {money}", " with about {money} to spend", ". budget {money}", " and i can spend {money}",
    " (max {money})", ", no more than {money}", ", around {money}", " under {money}", ". I've got {money}",
    ", up to {money} in total", " - {money} tops", ", spending limit {money}", ", roughly {money}",
    " for less than {money}", ", can't go over {money}",
)
RANGE_PHRASES = (
    "between £{low} and £{high}", "£{low}-{high}", "£{low}-£{high}", "{low} to {high} quid",
    "from £{low} to £{high}", "somewhere between {low} and {high} pounds", "£{low} to £{high}",
    "{low}-{high} quid", "between {low} and {high} quid",
)
RANGE_AFTER = (", {range}", " for {range}", ". budget is {range}", " - {range}", ", spending {range}")
CAP_PHRASES = (
    "nothing over £{cap} each", "max £{cap} per item", "no single thing over {cap} quid",
    "each thing under £{cap}", "no more than £{cap} an item", "£{cap} or less per thing",
    "nothing more than {cap} pounds each", "under £{cap} each",
)
CAP_AFTER = (", {cap}", " - {cap}", ". {cap} please", " but {cap}", ", ideally {cap}")

PARTY_AFTER = (
    " for {n} people", ", there'll be {w} of us", " for {w} kids", ", about {n} guests", " for the {w} of us",
    ", {n} adults", ", feeding {w}", " - {n} coming", ", we're {w}", " for {n} of my friends",
    ", {w} guests", " for a table of {w}",
)
PARTY_FIXED = (
    (" for me and my {partner}", 2), (", a dozen of us", 12), (" for half a dozen kids", 6),
    (", for a couple", 2), (", there's a dozen coming", 12), (" for just the two of us", 2),
)
SIZE_AFTER = (", {n} things", ", just {w} items", ", {w} bits please", " - {n} items max", ", a couple of things")

EXCLUDE_AFTER = (
    ", skip the {excl}", ". i'd rather not have {excl}", ", not a fan of {excl}", ". she hates {excl}",
    ", anything but {excl}", ", i don’t want {excl}", ", please no {excl}", " but nothing {excl}",
    ". he can't stand {excl}", ", avoid {excl} please", " without any {excl}", ". no {excl}!!",
    ", keep {excl} out of it", ", don't include {excl}",
)
EXCLUSIONS = ("candles", "glass", "plastic", "pink", "christmas", "paper", "mugs", "bags", "glitter",
              "cards", "anything scented", "metal", "spots", "owls", "hearts", "ceramics", "tea towels")

BACKSTORY = (
    "It's been a mad week.", "First time using this!", "So,", "Right,", "Quick one:", "ok so",
    "hiya,", "Bit last minute but", "I'm rubbish at presents.", "Hello, hope you can help.",
    "Not sure where to start...", "morning!", "Sorry if this is a silly question.", "urgent!!",
    "my friend recommended this shop.", "Bit of a weird one.",
)
SIGN_OFFS = (
    " Thanks so much!", " Cheers x", " ty", " Thank you :)", " She's so hard to buy for.",
    " Any help appreciated.", " Need it by friday.", " xx", " Thanks in advance.", " 🙏",
)
PII_OPENERS = (
    "hi, I'm Dave, [phone]. ", "my email is [email] - ", "Sarah here ([email]). ", "deliver to [address] please. ",
    "call me on [phone] if needed. ", "I'm at [address]. ",
)

# Follow-ups. {pos} is a position phrase ("the middle one", "number two", "#3") or a mention.
SWAP_MORE = (
    "can i have something else instead of {pos}", "not sure about {pos}, got another?",
    "{pos} isn't right, change it", "a different one for {pos} please", "{pos} - can you find an alternative",
    "could {pos} be switched for something else?", "hmm {pos}, not keen. another option?",
    "try something other than {pos}", "give me another choice for {pos}",
)
SWAP_FOR_MORE = (
    "instead of {pos} could i have {item}", "{pos} out, {item} in", "trade {pos} for {item}",
    "put {item} where {pos} is",
)
REMOVE_MORE = (
    "ditch {pos}", "{pos} can go", "bin {pos} please", "i don't need {pos}", "scrap {pos}",
    "leave out {pos}", "get {pos} out of there", "no to {pos}", "cut {pos}",
)
LOCK_MORE = (
    "{pos} is perfect, don't touch it", "definitely keep {pos}", "{pos} stays whatever", "hang on to {pos}",
    "love {pos}, keep that one",
)
MORE_LIKE_MORE = (
    "got anything else like {pos}?", "more along the lines of {pos}", "show me others like {pos}",
    "anything in the same style as {pos}", "similar to {pos}?",
)
QUESTION_MORE = (
    "is {pos} big?", "what's {pos} made from", "how much is {pos} on its own", "does {pos} come in blue?",
    "is {pos} ok for kids?", "can {pos} go in the dishwasher", "what size is {pos}",
)
CART_ONE_MORE = (
    "stick {pos} in my basket", "i'll buy {pos}", "just {pos} in the trolley please", "pop {pos} in my cart",
    "add {pos} to the basket", "order {pos} for me",
)
CART_QUESTIONS = (
    "anything in my cart yet?", "what's in my basket so far", "what have i got in the trolley?",
    "how much is my basket now", "is my cart empty?", "did anything go in my basket",
    "what's in the cart", "show me my basket",
)
CHEAPER_MORE = (
    "bit steep", "a bit much for me", "too rich for me", "can you do it for less", "hmm pricey",
    "anything less spendy?", "that's more than i wanted to pay", "cheaper version?",
    "can we trim the cost", "bring the price down a bit",
)
SET_BUDGET_MORE = (
    "can we keep it under {money}", "i've only got {money}", "let's do {money}", "budget's {money} now",
    "make it fit {money}", "actually {money} is my limit", "could you do it for {money}",
    "bump it up to {money}", "i can go to {money}",
)
SET_RANGE_MORE = ("let's say {range}", "aim for {range}", "keep it {range}", "budget {range} please")
CAP_FOLLOWUPS = ("{cap} please", "can you make it {cap}", "keep it to {cap}", "{cap} if possible")
RESTART = (
    "actually forget that, {request}", "scrap all that - {request}", "new idea: {request}",
    "change of plan, {request}", "never mind, {request}",
)
EXCLUDE_FOLLOWUPS = (
    "no more {excl} please", "can you lose anything {excl}", "redo it without {excl}",
    "same again but no {excl}", "swap out all the {excl}", "i said no {excl}",
)
