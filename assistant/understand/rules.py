"""Every English rule that reads a slot from the shopper's words, named, with examples it
must read and examples it must leave alone. `tests/test_rules.py` runs each example as
written and in the shared variants shoppers produce (curly quotes and dashes from a phone,
capitals, a greeting and a misspelt sign-off around it), all through the guard's
normalisation (`check_input`), as the assistant reads them.

The readers live in `amounts`, `exclusions` and `shopper_cues` (lexicon: `words`); a new
phrasing is fixed by adding its example here first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from assistant.understand.amounts import (
    budget_in,
    budget_range_in,
    count_in,
    item_cap_in,
    party_size_in,
    tables_in,
    wants_cheapest,
)
from assistant.understand.audience import for_a_couple, for_a_grown_up
from assistant.understand.colours import colours_in
from assistant.understand.edit_cues import (
    asks_for_another,
    asks_if_sold,
    asks_the_price,
    keeps,
    more_like_this,
    one_for_them_too,
    only_thanks,
    price_stings,
    rather_have,
    wants_out,
)
from assistant.understand.exclusions import exclusions_in
from assistant.understand.need_clauses import need_clauses, reasons_for_ruling_out
from assistant.understand.need_text import (
    containers_named,
    says_liking,
    taste_only,
    words_to_look_for,
)
from assistant.understand.price_tiers import asks_for_tiers, tier_named
from assistant.understand.reasons_against import excluded_by_reason
from assistant.understand.shopper_cues import (
    asks_about_cart,
    asks_in_place,
    asks_to_add_to_cart,
    asks_to_redo,
    asks_to_swap,
    going_out,
    phrased_as_question,
    positions_in,
    says_goodbye,
    whole_bundle_mention,
)
from assistant.understand.slots import as_written, money_only, unsaid_position


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    read: Callable[[str], Any]
    reads: tuple[tuple[str, Any], ...]  # (message, what the rule reads from it)
    leaves: tuple[str, ...]             # messages the rule reads nothing from
    nothing: Any = None                 # what "nothing" is for this reader


RULES: tuple[Rule, ...] = (
    Rule("budget", budget_in, (
        ("need stuff for my daughter's 7th birthday party, about thirty quid", 30),
        ("I'm on a budget of 20 dollars, need a gift for my sister who likes candles", 20),
        ("decorate my kitchen in a retro style for less than 40 pounds", 40),
        ("20 bucks max", 20), ("25 euros", 25), ("twenty pounds", 20), ("£35 budget: a wedding present", 35),
        ("under a tenner", 10), ("between £10 and £20", 20), ("$30 for a teacher gift", 30),
        ("forty-five quid for my nan", 45), ("budget is 50", 50), ("no more than £15", 15),
        ("£ 20 for a teacher", 20), ("30£ for my sis", 30), ("each under £2 but 30 in total", 30),
        ("we can spend up to 45 now", 45), ("something for my aunt, tenner max", 10),
        ("a party for up to 12 kids, budget 40", 40),
    ), (
        "a tea party for 6", "my nan's 80th", "party bags for 10 kids", "a 3 tier cake stand",
        "nothing over £5 each", "for 4 people", "swap number 2", "his sister is under 3",
        "no mugs please, she has about 50", "we can spend time with up to 12 kids",
    )),
    Rule("budget range", budget_range_in, (
        ("between £10 and £20", (10, 20)), ("£15-25", (15, 25)), ("from 10 to 20 quid", (10, 20)),
        ("£15 – £25 for my mum", (15, 25)), ("somewhere 20 to 30 pounds", (20, 30)),
        ("from £5 up to £15", (5, 15)), ("no less than 15 but no more than 25 pounds", (15, 25)),
    ), ("for 6-8 people", "between 10 and 12 guests", "10 to 15 kids", "under £30", "£20 and £5 each")),
    Rule("item cap", item_cap_in, (
        ("nothing over £3 each", 3), ("£4 or less per thing", 4), ("no single item over £10", 10),
        ("nothing over a fiver each", 5), ("each item under £8", 8), ("£2 per item", 2),
        ("£3 a pop", 3), ("each one under £6", 6), ("£5 max a thing", 5), ("little prizes, max £2 a prize", 2),
    ), ("under £30", "a budget of £20", "£5 for my son", "each of us gets one")),
    Rule("price tiers", asks_for_tiers, (
        ("show me a cheaper and a nicer version", True), ("can I see a budget and a premium option?", True),
        ("budget and premium options please", True), ("good, better, best please", True),
        ("give me three price levels", True), ("what about options at different price points?", True),
        ("a posher one and a cheaper one", True), ("a cheaper version as well as a nicer one", True),
    ), ("make it cheaper", "something nicer", "a cheaper and nicer teapot", "which is cheaper, the mug or the teapot?",
        "the best tea set you have", "better bunting please", "a budget of £20"), nothing=False),
    Rule("tier named", tier_named, (
        ("the budget one", "budget"), ("I'll take the premium version", "premium"),
        ("go with the standard option please", "standard"), ("the nicer one", "premium"),
        ("the cheaper version", "budget"),
    ), ("make it cheaper", "a nicer teapot", "the second one", "the premium tea set from the shop")),
    Rule("cheapest", wants_cheapest, (
        ("give me the cheapest possible birthday bundle", True), ("as cheap as possible please", True),
        ("a hen party on a shoestring", True), ("lowest price you can do", True),
        ("picnic stuff, the cheaper the better", True),
    ), ("something cheaper", "a cheap and cheerful picnic", "not too expensive"), nothing=False),
    Rule("party size", party_size_in, (
        ("a tea party for six friends", 6), ("party bags for 8 kids", 8), ("there'll be 12 of us", 12),
        ("for about 20 people", 20), ("me and my other half", 2), ("a dozen guests", 12),
        ("a bbq for 10", 10), ("party of 4", 4),
        ("half a dozen of us", 6), ("for 8, actually make that 10", 10), ("about 15 ppl", 15),
        ("me and two friends", 3), ("a family of four", 4), ("25ish guests", 25),
        ("twins' party with 9 kids", 9), ("treat bags for about 20 trick or treaters", 20),
        ("a tea party at the care home for 15 residents", 15), ("prizes for 11 players", 11),
        ("sleepover for my daughter + 5 friends", 6), ("my husband and I are doing an afternoon tea", 2),
        ("stocking fillers for my 2 nephews", 2), ("craft afternoon for 6 under-tens", 6),
    ), ("my nan's 80th", "a 7th birthday", "£20 for 3 things", "a budget for 20", "3 tier cake stand",
        "a party for 10 year olds", "my son is 9 and mad about space")),
    Rule("tables", tables_in, (
        ("tealights for 10 tables", 10), ("ten tables at the reception", 10), ("we'll have 8 round tables", 8),
        ("the tables for my sister's wedding reception, 12 tables", 12),
    ), ("a table for 6", "ten round the table", "want the table to look nice", "a tea party for six",
        "3 tier cake stand", "tables and chairs")),
    Rule("size", count_in, (
        ("3 things for a picnic", 3), ("five items please", 5), ("a couple of bits for my mum", 2),
        ("3 little things", 3),
    ), ("a tea party for 6", "under £30", "my nan's 80th", "they'll have lost the pieces in 5 mins",
        "my daughter + 5 friends")),
    Rule("exclusions", exclusions_in, (
        ("hen party supplies please, but no pink", ("pink",)), ("I don't want candles", ("candles",)),
        ("skip the candles", ("candles",)), ("I'd rather not have candles", ("candles",)),
        ("not a fan of pink", ("pink",)), ("nothing plastic", ("plastic",)), ("without glass", ("glass",)),
        ("she hates candles", ("candles",)), ("no candles or balloons", ("candles", "balloons")),
        ("zero glitter please", ("glitter",)), ("balloons are a no for her", ("balloons",)),
        ("glitter's a no-go", ("glitter",)), ("nae plastic tat", ("plastic tat",)), ("no pink or blue", ("pink", "blue")),
        ("a picnic without plastic", ("plastic",)), ("anything apart from mugs", ("mugs",)),
        ("she's got a drawer full of candles already", ("candles",)), ("they've got loads of bunting", ("bunting",)),
        ("he has more mugs than he knows what to do with", ("mugs",)), ("she already has about 100 mugs", ("mugs",)),
        ("she hates anything with 'live laugh love' on it", ("live laugh love",)), ('no "cute" stuff', ("cute",)),
        ("no need for the candles, she makes her own", ("candles",)),
        ("the ribbon's not needed", ("ribbon",)), ("balloons are not wanted, she's scared of them", ("balloons",)),
        ("a picnic for four, nothing too fussy", ("fussy",)), ("a card for my uncle but not overly soppy", ("soppy",)),
        ("no loud toys like drums or whistles", ("loud toys", "drums", "whistles")),
        ("pls make it not glass, it's being posted", ("glass",)), ("my brother isn't into sport", ("sport",)),
        ("they aren't really keen on florals", ("florals",)), ("no candles like last year's", ("candles",)),
    ), ("she has a cat", "no need to rush", "it's not needed till friday", "we've got loads of time", "he's got lots of friends coming", "she has 2 dogs",
        "we have 10 tables", "not too expensive please", "nothing too dear", "not too sure what she likes", "the answer is no", "is that a no?", "feathers are a nod to the theme",
        "can't have a picnic without a blanket", "no idea what she likes apart from cats", "nae mair than a tenner","no problem", "no more than £20", "I'm not sure", "it's not for me", "no rush", "a skipping rope",
        "nothing over £5 each", "not feeling it", "money no object", "not a penny more",
        "all good apart from the middle one", "nothing that costs over £4",
        "we're not close", "I'm not very good at presents"), nothing=()),
    Rule("a reason against it", lambda text: excluded_by_reason(text, "the vase"), (
        ("lose the vase, she's got loads already", ("vase",)), ("vase out pls, they already have one", ("vase",)),
        ("swap #3, we've got serviettes already", ("serviettes",)), ("ditch the vase, he never uses them", ("vase",)),
        ("take the vase out, the toddler would smash it", ("vase",)), ("her shelves are full of vases, swap it", ("vases",)),
        ("nobody in the house drinks coffee so drop number 2", ("coffee",)),
        ("not keen on the vase, she isn't into ceramics", ("ceramics",)), ("my sister hates vases, swap it", ("vases",)), ("vase can go, she makes her own", ("vase",)),
    ), ("take out the vase", "swap the vase, too plain", "the vase is a bit dear, drop it",
        "swap the vase, she doesn't like the colour", "I'm not keen on the vase", "I'd rather have a teapot than the vase",
        "she's got a garden so swap the vase for a trowel", "we've got people coming so add a vase"), nothing=()),
    Rule("positions", positions_in, (
        ("swap the middle one", ("middle",)), ("replace number two", ("2",)), ("swap the last one", ("last",)),
        ("the second one", ("2",)), ("#3", ("3",)), ("item 4 please", ("4",)), ("the 3rd", ("3",)),
        ("lose the one at the bottom", ("last",)), ("the top one can stay", ("1",)), ("ditch the bottom item", ("last",)),
    ), ("what else would go with the first class luggage tag", "two of them", "number two things",
        "for 2 people", "I'll buy all 3", "a trowel for the bottom of the garden", "top quality mugs",
        "at the end of the day it's for my mum"), nothing=()),
    Rule("a position must be said", lambda text: unsaid_position("4", text), (
        ("that teapot is too fussy for her", True), ("the lanterns aren't right", True), ("could I get £4 off?", True),
    ), ("swap 4", "the 4th one is fine", "number four can go", "no.4 please", "4 please", "the last one"),
        nothing=False),
    Rule("mentions as written", lambda text: as_written("land lunch bag", text).lower(), (
        ("which holds more, the owl bag or the woodland lunch bag?", "woodland lunch bag"),
        ("add a woodland lunch bag", "woodland lunch bag"), ("the Woodland Lunch Bag please", "woodland lunch bag"),
    ), ("a lunch bag", "something for the garden", "the land lunch bag please"), nothing="land lunch bag"),
    Rule("the lot is no item", lambda text: whole_bundle_mention("set", text), (
        ("put this whole set in the basket", True), ("I'll have the entire set", True),
        ("all of the set in my trolley please", True),
    ), ("add the tea set to my cart", "the set of bowls please", "the cake set is perfect"), nothing=False),
    Rule("a count is no position", lambda text: whole_bundle_mention("3", text), (
        ("i'll order all 3 now", True), ("the 3 of them into my basket", True), ("all 3 please, she'll love them", True),
    ), ("number 3 in my cart", "the 3rd one please", "just #3", "the 3 one into the basket"), nothing=False),
    Rule("need clauses", lambda text: tuple(need_clauses(text)), (
        ("pressie for my dad, not too expensive, he loves fishing", ("pressie for my dad", "he loves fishing")),
        ("hiya, so, sorry if this is a silly question, but my neighbour just had twins",
         ("my neighbour just had twins",)),
        ("we're a bit skint this month, stocking fillers for the kids", ("stocking fillers for the kids",)),
        ("xmas table for 12 people, napkins and crackers. £40 max", ("xmas table for 12 people", "napkins and crackers")),
        ("no rush at all, but a retirement gift for my boss", ("a retirement gift for my boss",)),
        ("not sure what he likes tbh, it's for my brother in law", ("it's for my brother in law",)),
    ), ("money no object", "next saturday", "about 20 people", "£30 or so, thanks!", "um hi", "can u do something quick thx",
        "rock bottom prices please", "no glitter", "no worries if not", "we've collected £40"), nothing=()),
    Rule("a reason for ruling out", lambda text: tuple(reasons_for_ruling_out(text)), (
        ("leaving present for jo. she doesn't drink so no wine stuff", ("she doesn't drink so",)),
        ("there's a toddler in the house so nothing made of glass, can you redo it?",
         ("there's a toddler in the house so",)),
        ("kids baking afternoon. they're 6 so nothing sharp", ("they're 6 so",)),
    ), ("it's my sister's hen do so nothing rude", "he's 3 so nothing small", "a gift for my mum, no candles",
        "she loves baking so much", "so excited, a party for my son"), nothing=()),
    Rule("a couple", for_a_couple, (
        ("Wedding present for a couple who love all things vintage", True), ("something for the happy couple", True),
        ("a gift for the newlyweds", True), ("a little present for the bride and groom", True),
        ("Mr & Mrs gift ideas", True),
        ("a gift for a couple getting married in june", True),
    ), ("a couple of mugs", "a present for my wife", "we're having a couple of friends round",
        "my husband's birthday", "a couple more ideas for my wife please", "a couple things for my husband"),
        nothing=False),
    Rule("colours", colours_in, (
        ("I'm slightly obsessed with the red polka dot range", ("red",)), ("something in navy or grey", ("navy", "grey")),
        ("hen party bits, pink and gold", ("pink", "gold")), ("she loves anything blue, but no pink", ("blue",)),
    ), ("not a fan of pink", "a rose print", "clear glass jars", "a bright idea", "a dark chocolate lover"),
        nothing=()),
    Rule("cart question", asks_about_cart, (
        ("anything in my cart yet?", True), ("what's in my basket?", True), ("show my basket", True),
        ("how much is my cart?", True), ("what have we put in the trolley so far", True),
        ("which things did I add to my cart earlier?", True), ("what will my basket come to", True),
        ("how much does my cart add up to", True), ("list what I've put in my basket", True),
    ), ("add it all to my cart", "put the mug in my basket", "a basket for picnics", "did you add it to my basket?",
        "add up the mug and the teapot and put them in my basket"), nothing=False),
    Rule("phrased as a question", phrased_as_question, (
        ("what is the second one?", True), ("is the mug dishwasher safe", True), ("how much is the teapot", True),
        ("does the herb kit come with pots", True), ("which one's bigger", True),
    ), ("can you swap the second one?", "swap the mug, is that ok?", "a gift for my mum, what do you think?",
        "thanks, that's great"), nothing=False),
    Rule("add to cart", asks_to_add_to_cart, (
        ("add it all to my cart", True), ("put the mug in my basket", True),
        ("add the second one to my cart", True),
    ), ("what's in my basket?", "a picnic basket", "add a teapot"), nothing=False),
    Rule("a grown-up recipient", for_a_grown_up, (
        ("present for my nan who loves gardening", True), ("a leaving gift for a colleague, £10 max", True),
        ("something for my boss", True), ("gift for my dad who is into cooking", True),
        ("a get well soon present for my grandad", True),
    ), ("something for my sister who likes candles", "a present for my 6 year old nephew",
        "stuff for my nan to give the grandkids", "a tea party for six", "my grandson loves dinosaurs",
        "party bags for my mum's kids"), nothing=False),
    Rule("swap words", asks_to_swap, (
        ("swap the mug", True), ("something else instead of the candle", True), ("replace number two", True),
        ("can I have a different teapot?", True), ("change the middle one", True),
    ), ("what about something jumbo and something cube?", "i also need some napkins", "a tea party for six",
        "could you also find something from your gift wrap range"), nothing=False),
    Rule("money is no need", money_only, (
        ("a tenner", True), ("£20 max", True), ("twenty quid each", True), ("under a fiver", True),
        ("five pound a piece", True),
    ), ("a tenner's worth of stocking fillers", "tea party for six", "a dozen roses", "my mum", "£20 of bath stuff",
        "a bundle of things I'd like"), nothing=False),
    Rule("in its place", asks_in_place, (
        ("a scarf rather than the hat?", True), ("could i get a jug in place of the vase", True),
        ("pop a tin in that spot instead", True), ("napkins instead of the plates", True),
        ("something sturdier in its place", True),
    ), ("add a scarf", "i'd rather not have candles", "can i have a mug instead?", "a place setting for six",
        "in the same colour please"), nothing=False),
    Rule("what goes out", going_out, (
        ("a scarf rather than the hat?", "hat"), ("could i get a jug in place of the vase", "vase"),
        ("napkins instead of those paper plates please", "paper plates"),
    ), ("something sturdier in its place", "add a scarf", "can i have a mug instead?")),
    Rule("redo it", asks_to_redo, (
        ("could you redo it with none in?", True), ("same idea but no glass", True),
        ("have another go without pink", True), ("can you rework the bundle for a boy", True),
        ("a version with no candles please", True),
    ), ("a tea party for six", "swap the mug", "can you do a bundle for my mum", "another candle please",
        "try the red one"), nothing=False),
    Rule("spelt wants", words_to_look_for, (
        ("i also need something gingham and something star", True), ("something tea and something swallow", True),
        ("could you also find something from your gift wrap range", True), ("any ideas for something bicycle?", True),
    ), ("something nice for my mum", "10 tables, each wants tealights and something pretty", "something with unicorns",
        "anything else?", "a tea party for six"), nothing=False),
    Rule("taste only", taste_only, (
        ("a bundle of things I'd like", True), ("something I'd love", True), ("surprise me", True),
        ("my usual stuff", True), ("things based on what I usually buy", True),
    ), ("things I'd like for the garden", "a bundle", "candles I'd love", "a tea party for six",
        "something for my mum who likes tea", "surprise me with candles"), nothing=False),
    Rule("containers", containers_named, (
        ("stocking fillers for my three kids", ("stocking",)), ("party bag fillers for 10 kids", ("party bag",)),
        ("little things to put in the kids' stockings", ("stocking",)), ("bits to put in their party bags", ("party bag",)),
        ("treats to fill the advent calendar", ("advent calendar",)), ("hamper fillers for a foodie", ("hamper",)),
    ), ("a stocking for my son", "a picnic hamper for 2", "party bags for 10 kids", "cushion fillers",
        "things for the garden", "a calendar plus little bits to tuck in it"), nothing=()),
    Rule("liking is no thing", says_liking, (
        ("my wife loves all things french", True), ("she'd love a cuppa", True),
        ("he likes fishing and football", True), ("my nan adores her garden", True),
    ), (
        "love hearts for the table", "a lovely present for my mum", "something with love on it",
    ), nothing=False),
    Rule("rather have this than that", rather_have, (
        ("I'd rather have a teapot than that mug to be honest", ("teapot", "mug")),
        ("rather have those skull doilies than the napkins tbh", ("skull doilies", "napkins")),
        ("i'd much rather go for a jug than the vase", ("jug", "vase")),
    ), (
        "I'd rather not have candles", "rather than the mug, a jug please", "i'd rather spend less than £20",
    )),
    Rule("keep it", keeps, (
        ("number two is spot on, leave it where it is pls", True), ("bucket is a must. everything else can change", True),
        ("dont u dare touch that teapot", True), ("the candle stays", True), ("hands off the teapot", True),
        ("keep the mug in please", True),
    ), (
        "keep it under £20", "leave the candles out", "can you keep looking", "don't want number 2 in there at all",
        "swap the mug but keep it cheap",
    ), nothing=False),
    Rule("out it goes", wants_out, (
        ("don't want number 2 in there at all, rest is fine", True), ("get rid of the candle", True),
        ("ditch the mug", True), ("take the napkins out", True), ("no need for the card, I'll write my own", True),
    ), (
        "i don't want to spend more than £20", "keep the mug", "the candle stays", "don't want anything else",
    ), nothing=False),
    Rule("the price stings", price_stings, (
        ("yikes, that total made my eyes water", True), ("oof. my wallet's crying, go cheeper??", True),
        ("2nd and 4th are fine i guess but the total... hmm. can the whole thing come down a bit", True),
        ("bit too dear for me that", True), ("that's too much for me", True),
    ), (
        "too much pink in there", "yikes, that's a lot of pink", "too dear, £8 max for the lot",
        "my wallet is in my other bag",
    ), nothing=False),
    Rule("do you sell it", asks_if_sold, (
        ("do you sell bunting?", "bunting"), ("do u do cake stands at all?", "cake stands"),
        ("have you got any lanterns?", "lanterns"), ("do you stock fairy lights", "fairy lights"),
    ), (
        "do you deliver to ireland?", "do you do next day delivery?", "do you have the mug in blue?",
        "do you do refunds?", "have you got a minute?",
    )),
    Rule("one for them too", one_for_them_too, (
        ("can there be sumthing for the big sister too so she doesnt feel left out", "the big sister"),
        ("kids are coming along too so can u put in a thing or two to keep them busy", "kids"),
        ("the cat'll sulk if she's left out, summat for her as well?", "the cat"),
        ("something for my dad as well please", "my dad"),
    ), (
        "a candle for the table too", "add something for the garden too", "thanks, that is all",
        "something for my dad", "something for the patio too", "the candles are there too",
    )),
    Rule("more like this", more_like_this, (
        ("show me more like the playing cards? they're visiting from canada", True),
        ("more stuff like the backpack pls, he'd go wild for that", True), ("anything similar to the owl one", True),
    ), (
        "more like £20 really", "I'd like more candles", "can you add more things", "just like that",
    ), nothing=False),
    Rule("have you another", asks_for_another, (
        ("a black tree is a bit goth for my mum, have you another?", True), ("got any others?", True),
        ("have you got a different one", True), ("another one?", True),
    ), (
        "another tea party bundle please", "have you got any lanterns?", "one more thing for my mum",
    ), nothing=False),
    Rule("what does it cost", asks_the_price, (
        ("wreath, wot does that one cost", True), ("how much is the teapot", True),
        ("what would the lot come to", True), ("what does the mug cost", True),
    ), (
        "a teapot and a cake stand under £20", "much love for the bunting", "what do you think of the mug",
    ), nothing=False),
    Rule("thanks is chat", only_thanks, (
        ("thank u sm for the help earlier!!", True), ("cheers for that", True), ("hiya!", True),
    ), (
        "thanks, now what's the weather in leeds", "thanks, need a gift for my mum too", "great, £20 then",
    ), nothing=False),
    Rule("goodbye", says_goodbye, (
        ("that's all, bye", True), ("cheers, see ya", True), ("night night!", True), ("goodbye", True),
    ), (
        "a bundle for a goodbye party", "see you at the party, need balloons", "thanks, that's lovely",
    ), nothing=False),
)
