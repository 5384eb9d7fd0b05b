"""Phrasing banks of the intent reader's own examples (`finetune/intent_data.py`): how shoppers
say what they want done, in everyday, indirect and chatty words, beyond the parse banks of
`phrasings.py` and `phrasings_more.py`.

Each bank is whole messages of one intent. Placeholders: {item} names an item of the bundle
on screen, {pos} its position in words, {other} another product, {money} an amount, {who} a
person. The `*_WORDS` banks are fragments put before or after a message.
"""

from __future__ import annotations

INTENT_OPENER_WORDS = ("", "", "", "", "ooh ", "hmm ", "right, ", "ok so ", "actually ", "erm ", "oh ", "so ",
                       "yeah ", "aw ", "wait, ", "honestly ", "lol ", "one more thing, ", "sorry, ", "hey ")
INTENT_TAIL_WORDS = ("", "", "", "", " pls", " please", " if poss", " thanks", " x", " 🙂", "!", "!!", " ta",
                     " if you can", " cheers", " 🙏", "?", " haha", " tbh")
WHO_WORDS = ("my mum", "the kids", "my nan", "the in-laws", "my brother", "the neighbours", "my boss",
             "the grandkids", "my best mate", "the dog", "our guests", "my dad", "the teacher", "my sister")

SMALLTALK_CHAT = (
    "hiya", "hey there", "hello hello", "good morning to you", "afternoon!", "evening all",
    "howdy", "yo", "is this a real person?", "are you a bot?",
    "just browsing for now", "not shopping yet, just looking",
    "thanks a million", "brilliant, thank you", "that's great, cheers", "many thanks",
    "thank you, that's really kind", "aww thanks", "lovely stuff", "perfect, thanks a lot",
    "you've been very helpful", "that's really useful, thank you", "great help, ta",
    "bye!", "see you later", "speak soon", "night night", "have a good day", "catch you later",
    "ok bye for now", "I'll come back later", "hello, just popping in", "cheers for that",
    "that's super, thanks", "ok I think that's everything", "let me think about it", "I'll sleep on it",
    "not sure yet", "hmm let me have a think", "I need to ask my partner first", "give me a minute",
    "ok", "okay cool", "fair enough", "sounds good", "right you are", "gotcha", "no worries",
    "how's it going?", "having a good day?", "you doing alright?", "what's your name?",
    "sorry I'm a bit slow at this", "this is handy", "you're a lifesaver",
    "happy friday!", "merry christmas to you too", "have a lovely weekend", "much appreciated",
    "lol", "haha brilliant", "wow", "amazing 😍", "👍", "ty", "tysm", "cheers mate",
)
OFF_TOPIC_MORE = (
    "will it snow in leeds tomorrow", "what's the forecast for the weekend", "is it sunny in cardiff today",
    "how long do I boil an egg for", "what temperature do you roast a chicken at", "give me a lasagne recipe",
    "best way to clean a kettle?", "how do I unblock a sink",
    "what time does the post office close", "who is the prime minister", "how tall is the eiffel tower",
    "can you recommend a good book", "who sings that song about rain",
    "what's 15% of 80", "help me write a cover letter", "can you do my essay", "explain quantum physics",
    "how do I reset my wifi router", "my laptop won't turn on", "what's the best phone to buy",
    "can you give me money off the {item}", "I want a discount on the {item}", "price match argos please",
    "do you sell cars", "can I book a table for two", "order me a pizza", "call me a cab",
    "what's the meaning of life", "are aliens real", "tell me a fun fact", "sing me a song",
    "qwertyuiop", "aaaaaa", "jkjkjkjk", "....", "test test 123",
    "where is my parcel from another shop", "how do I cancel my phone contract", "what's the bus to town",
    "who won bake off", "what day is it", "how many days till christmas", "what's the time in new york",
    "write me a birthday poem", "tell me a bedtime story", "translate this to spanish: thank you",
    "recommend a film for tonight", "what's the capital of australia", "how long should I steep green tea",
    "can you help with my maths homework", "what should I cook for dinner tonight", "what's my star sign",
)
ADD_INDIRECT = (
    "could you throw in {other} as well", "chuck {other} in too", "stick {other} in with that",
    "oh and {other}",
    "don't forget {other}", "it wouldn't be complete without {other}",
    "can you add on {other}", "one more thing - {other}",
    "plus {other} if you've got it", "also after {other}", "would love {other} in there as well",
    "make room for {other}", "bung in {other} too", "{other} on top of that please",
    "could it have {other} as well", "can you include {other} with the rest", "add {other} to this lot",
    "something for {who} too",
    "{who} will want something too, can you add a bit", "can we squeeze {other} into this",
    "{other} would round it off nicely, add it?", "tack on {other}", "room for {other} as an extra?",
    "go on then, {other} too", "it could do with {other} alongside", "include {other} while you're at it", "throw in a treat for {who}",
    "a bit extra for {who} please", "don't leave out {who}, add something for them",
    "{who} are coming as well so add something for them", "what about something extra for {who}",
    "can you also pop in something for {who}", "{who} will be there too, a little something for them please",
    "need a bit extra for {who}", "we also need {other}", "{other} too please, can't do without it",
    "and {other} as well", "is there room for {other}?", "could you add something small for {who}",
)
LOCK_INDIRECT = (
    "{item} is perfect, don't change it", "whatever you do keep {item}", "{item} is staying",
    "{item} definitely stays in", "I'm keeping {item} no matter what",
    "leave {item} alone", "hands off {item}", "don't swap {item}",
    "{pos} stays put", "{pos} is safe, change the others if needed", "{pos} is a yes, change the rest if you like",
    "love {pos}, don't touch it", "{pos} has to stay",
    "happy with {pos}, the others can change", "{item} can stay, the others I'm not sure about",
    "{item} is non-negotiable", "{item} isn't going anywhere", "keep hold of {item}",
    "{item} stays, mess with the rest if you want", "lock in {pos}", "freeze {item}",
    "don't lose {item} whatever happens", "{pos} is the one, keep it",
    "{item} is the star, build around it", "{pos} stays no matter what", "I'm attached to {item} now, keep it",
    "hold on to {pos} for me", "{item} stays in, definitely",
    "{item} is ideal, keep it whatever you change", "{pos} is exactly right, please don't replace it",
    "must keep {item}", "{item} stays in the bundle for sure", "pin {pos} so it doesn't change",
    "{pos} is a definite, keep it", "keep {item} as it is", "{item} is spot on, hang on to it",
)
SWAP_INDIRECT = (
    "not sure about {pos}, got an alternative?",

    "can {pos} be something different?", "something better instead of {item}?",
    "{other} instead of {item} please", "{item} out, {other} in",
    "could {pos} be {other} instead?",
    "I'm not keen on {pos}, find me another one", "{pos} is too plain, anything fancier for that spot?",
    "replace {item} with something nicer",
    "{item} won't suit her, pick something else", "{pos} clashes a bit, try another?",

    "not loving {pos}, surprise me with something else", "switch out {pos} for another idea",
    "{item} isn't their style, what else you got for that slot?", "different {pos} please",
    "{pos} feels off, pick another", "got an alternative to {item}?", "trade {item} for something else",
    "can you find a stand-in for {pos}", "try another option where {item} is",
    "{item} doesn't really work for me, can you find a replacement?",
    "not convinced by {item}, what else could go there?", "{pos} isn't quite right, got anything else for that slot?",
    "{item} feels a bit dull, could you pick something livelier?", "{who} won't like {item}, try something else",
    "I prefer {other} to {item}, can you switch them?", "instead of {item} could there be {other}?",
    "put {other} where {item} is", "{item} is not her taste, find another", "can you show me an alternative for {pos}",
    "{item} would get broken in a week, something sturdier?", "{pos} looks a bit cheap, is there a better one?",
    "give me a different option for {pos}", "{item} has to go but I want something in that spot",
)
REMOVE_INDIRECT = (
    "{item} can go",
     "lose {item}", "drop {pos}", "ditch {item}", "get rid of {pos}",
    "don't need {pos}", "bin {item} please", "cut {pos}",
    "{item} is a no", "not {item}, he's got loads", "take {item} off the list",
    "I can do without {item}", "scrap {pos}",
    "{pos} isn't needed now", "leave {item} off", "nix {item}", "forget {pos}, we don't need it",
    "{item} we can skip", "we won't be needing {pos}", "{item} isn't necessary", "we're fine without {pos}",
    "pull {item} out", "strike {pos} off",
    "she already owns {item}, so drop it", "{pos} is surplus to requirements", "no point including {item}",
    "{item} isn't wanted", "remove {item} from the list please", "can {pos} come off?", "I'll pass on {item}",
    "count {item} out", "{item}, don't bother with that one", "take away {pos}, the rest is grand",
    "we're covered for {item}, take it off", "don't include {pos}",
)
CHEAPER_INDIRECT = (
    "that's a bit steep", "bit out of my price range", "can it cost less?", "anything more affordable?",
    "too expensive for me", "I'm a bit strapped for cash", "something more budget friendly?",
    "that's more than I hoped to spend", "can you bring the price down", "that's pricey, cheaper options?",
    "go a bit cheaper", "can we trim the cost",
    "money's tight, can it be less", "a cheaper version please", "do it on the cheap",
    "more bargain-y stuff please", "could the total be lower", "that's a lot, tone it down?",
    "my budget won't stretch that far", "less spendy please", "can you find thriftier bits",
    "the total is a bit much, can you bring it down?", "that adds up to more than I'd like",
    "ouch, that's too much for me", "whoa that's dear, can you do it for less", "any chance of lower priced things?",
    "it's over what I wanted to pay, trim it please", "cheaper alternatives across the board please",
    "could every item be {money} or less?", "a less pricey version please", "that's a lot of money for what it is",
)
SET_BUDGET_INDIRECT = (
    "I've only got {money} left", "we've pooled {money} between us", "make it {money} tops",
    "{money} is my absolute max", "call it {money}", "can you do it for {money}", "stretch it to {money}",
    "let's go up to {money}", "I can spend {money} now", "budget's gone up to {money}",
    "keep the whole thing to {money}", "{money} all in", "total of {money} please",
    "my limit's {money}", "I'd rather spend around {money}", "can you redo it for {money}",
    "{money} is what I've got", "we've got {money} to play with", "actually I can go to {money}",
    "I've got {money} to spend in total now", "can you redo it within {money}", "my budget is {money} now",
    "only {money} left in the kitty", "let's say {money} overall", "change the budget to {money}",
)
CART_INDIRECT = (
    "I'll take the lot", "I'll have all of it", "sold! put it all through", "ring it all up",
    "I'll buy everything there", "pop the whole bundle in my basket", "I'll order these now",
    "yes please, all of them in the trolley", "checkout time, add the lot", "let's get these ordered",
    "I'll have {pos}, just that one", "just {item} for me please, into the basket",
    "can you add {pos} to my order",
    "I want to buy {item}", "I'll take {item}", "order {pos} for me", "that's the one, {item} in my cart",
    "I'll have just {item}, put it through", "only {pos} for now, add it to my order", "buy {pos} for me",
    "go ahead and order everything", "proceed to checkout with all of it", "perfect, all of it to the checkout",
)
QUESTION_INDIRECT = (
    "what's already in my trolley?", "show me my cart",
    "how many things are in my basket", "what have I got in my cart so far", "remind me what I've added",
    "is {item} dishwasher safe?", "how big is {pos}?", "what's {item} made from?", "does {item} come boxed?",
    "is {pos} suitable for kids?", "how many are in a pack of {item}?", "is {item} real leather?",
    "what colour is {pos} exactly?", "would {item} fit in a small kitchen?", "can {item} go outside?",
    "is {pos} good quality?", "does {item} need batteries?", "are the {item} sold as a set?",
    "how much is {item}?", "what's {pos} made of?", "how many come with {item}?",
    "is {item} big enough for a family?", "what's the total in my cart so far", "which items are in my basket right now?",
    "how heavy is {pos}?", "{item} - does it come in other colours?", "is {pos} in stock?", "how tall is {item}?",
    "tell me about {item}", "tell me more about {pos}", "what can you tell me about {item}?",
    "give me the details of {item}", "info on {item} please",
)
MORE_LIKE_INDIRECT = (
    "anything else in the style of {item}?",
    "love {pos}, show me similar", "more things like {item} please", "same sort of look as {pos}?",
    "{item} is just my taste, what else matches it?", "do you have others in that design as {item}?",
    "{pos} is lovely, any others along those lines?",
    "what else goes with the look of {item}?", "similar ones to {pos}?", "more of the {item} kind of thing",
    "{item} is exactly my style, more of that please", "find me things that match {pos}",
    "{item} is gorgeous, more in that style please", "more along the lines of {pos}",
    "I really like {item}, got similar?", "{pos} is lovely, anything matching it?",
)
COMPARE_INDIRECT = (
    "{item} or {other}, which would you pick?", "which is better, {item} or {other}?",
    "{item} vs {other}?",
    "{item} or {other} for a small flat?",
    "help me choose between {item} and {other}", "what's the difference between {item} and {other}?",
    "between {item} and {other} which is nicer", "{item} or {other}? can't decide",
    "{item} or {other} - which is nicer?", "can't choose between {item} and {other}",
    "which would you go for, {item} or {other}", "{item} versus {other} for a gift?",
)
