"""The curated cues behind :mod:`medkb.answer.redflags`: what an emergency sounds like.

Each :class:`Cue` is a regular expression over normalised text (lowercase, straight
apostrophes, common typos fixed) with a weight per emergency category. A weight of 1 flags
a query on its own ("i can't breathe"); 0.5 is a symptom that needs a second symptom of the
same category or an urgency marker ("chest pain" + "shortness of breath", "stiff neck" +
"fever"). ``always`` cues (method-seeking and explicit suicidal intent) are flagged even in a
question that reads as general information; ``context`` cues (pregnancy, a young infant)
only add to a category that another cue already touched.

The lists were first written against the dev half of ``tests/data/red_flags.jsonl``, then
extended with :mod:`medkb.answer.triage` on the ``tune`` half of ``tests/data/triage.jsonl``
(``docs/safety.md`` says how each set was used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Categories, most specific first: a tie between two flagged categories goes to the earlier
#: one, whose notice says more ("arrhythmia" over "cardiac", "infant" over
#: "consciousness"); the generic ones come last.
CATEGORIES = (
    "suicide",
    "poisoning",
    "anaphylaxis",
    "obstetric",
    "infant",
    "vascular",
    "arrhythmia",
    "glucose",
    "heat_cold",
    "seizure",
    "stroke",
    "sepsis",
    "burns",
    "eye",
    "head_spine",
    "abdomen",
    "cardiac",
    "breathing",
    "bleeding",
    "consciousness",
)


@dataclass(frozen=True)
class Cue:
    """One pattern and what it says about each category."""

    pattern: re.Pattern[str]
    weights: dict[str, float] = field(default_factory=dict)
    always: bool = False
    context: bool = False


def _cue(*alternatives: str, always: bool = False, context: bool = False, **weights: float) -> Cue:
    """A cue matching any of ``alternatives``."""
    return Cue(re.compile("|".join(alternatives)), weights, always=always, context=context)


_CANT = r"(?:can't|cannot|can not|unable to)"
_PILLS = (
    r"(?:pills?|tablets?|meds|medicines?|medication|paracetamol|tylenol|acetaminophen"
    r"|ibuprofen|aspirin|insulin|antidepressants?)"
)
_CHEST = (
    r"(?:chest (?:pains?|hurts?|tightness|pressure|is tight|feels? (?:really )?tight|is squeezing"
    r"|squeezing)|(?:pain|pressure|tightness|heaviness|heavy feeling|squeezing|burning) in "
    r"(?:the middle of )?(?:my |his |her |the )?chest|chest feels (?:really )?(?:tight|heavy))"
)

CUES: tuple[Cue, ...] = (
    # suicide and self-harm
    _cue(r"\bkill(?:ing)? (?:myself|my self)\b", always=True, suicide=1),
    _cue(r"\bend(?:ing)? (?:my (?:own )?life|it all|it tonight|things)\b", always=True, suicide=1),
    _cue(r"\b(?:painless|easiest|quickest|best) way to (?:die|end it)\b", always=True, suicide=1),
    _cue(
        rf"\b{_PILLS}\b.{{0,40}}\b(?:not wake up|never wake up|to die|kill me)\b",
        always=True,
        suicide=1,
    ),
    _cue(
        r"\bjump(?:ing)? (?:off|from) (?:the |a |his |her |my |our |their )?"
        r"(?:top of (?:the |a )?)?(?:bridge|building|roof|cliff|terrace|balcony|window|ledge"
        r"|tower|car park|overpass)",
        r"\bstanding on (?:the |a )?(?:ledge|edge of the (?:roof|bridge|cliff)|railing)",
        always=True,
        suicide=1,
    ),
    # method seeking: "searching how to tie a noose", "bought rope to hang"
    _cue(r"\bhow to (?:tie a noose|hang (?:my|him|her)sel[fv])\b", r"\bnoose\b", suicide=1),
    _cue(
        r"\bwants? to die\b",
        r"\bdon't want to (?:live|be alive|be here|wake up)\b",
        always=True,
        suicide=1,
    ),
    _cue(r"\bfeel(?:ing)? suicidal\b", always=True, suicide=1),
    _cue(r"\bsuicidal\b", suicide=1),
    _cue(
        r"\bbetter off without me\b",
        r"\bno (?:point|reason) (?:in )?(?:living|to live|going on)",
        suicide=1,
    ),
    _cue(
        r"\bsuicid(?:al|e) (?:thoughts|ideation|plan|attempt)",
        r"thinking (?:about|of) suicide",
        suicide=1,
    ),
    _cue(r"\b(?:cutting|cut|harming|hurt|hurting|burning) myself\b", r"\bself[- ]?harm", suicide=1),
    # overdose and poisoning
    _cue(
        r"\b(?:took|taken|swallowed|had|ate|overdosed on) (?:\d{2,}|a (?:whole|full) "
        r"(?:bottle|pack|box|packet)|a lot of|lots of|loads of|too many|a handful of"
        r"|all (?:of )?(?:my|his|her|the))\b.{0,30}",
        poisoning=1,
    ),
    _cue(r"\boverdosed\b", r"\bsnake ?bite|\bbitten by a snake", poisoning=1),
    _cue(r"\boverdos(?:e|ing)\b", poisoning=0.5),
    _cue(
        r"\b(?:swallowed|ate|drank|drunk|got into|chewed)\b.{0,40}"
        rf"\b(?:{_PILLS}|bleach|detergent|dishwasher|liquid|battery|batteries"
        r"|chemicals?|cleaning|antifreeze|poison|iron|magnets?)",
        poisoning=1,
    ),
    _cue(
        r"\baccidentally (?:took|gave|injected)\b.{0,30}\b(?:twice|double|two doses)",
        poisoning=0.5,
    ),
    _cue(
        r"\binsulin\b.{0,20}\b(?:twice|double)",
        r"\b(?:twice|double)\b.{0,20}\binsulin",
        poisoning=1,
    ),
    _cue(r"\bmixed\b.{0,30}\b(?:alcohol|drinking|vodka|beer)", poisoning=0.5),
    _cue(r"\b(?:heroin|fentanyl|opioids?|methadone)\b", poisoning=0.5),
    # anaphylaxis
    _cue(
        r"\bthroat (?:is |feels |started )?(?:closing|swelling|swollen|tight)",
        anaphylaxis=1,
        breathing=0.5,
    ),
    _cue(r"\banaphyla", anaphylaxis=1),
    _cue(
        r"\b(?:tongue|lips?|face|eyes)\b.{0,25}\b(?:swell\w*|swollen|blew up|puff\w*)",
        r"\bswoll?en (?:tongue|lips?|face|throat)",
        anaphylaxis=0.5,
    ),
    _cue(r"\ballergic reaction\b", r"\bepi ?pen\b", r"\bhives\b", anaphylaxis=0.5),
    _cue(
        r"\b(?:ate|eating|after|stung|sting|took|taking)\b.{0,30}\b(?:peanuts?|nuts?|shrimp|shellfish|bee|wasp|cashews?"
        r"|amoxicillin|penicillin|new medication)",
        anaphylaxis=0.5,
    ),
    _cue(
        r"\btrouble swallowing",
        r"\bcan't swallow",
        r"\bvoice is hoarse",
        anaphylaxis=0.5,
        breathing=0.5,
    ),
    # breathing
    _cue(
        rf"\b{_CANT} (?:breathe?|get (?:any )?air)\b(?! through)",
        r"\bcan (?:barely|hardly) breathe?\b",
        r"\bstruggling to breathe?",
        breathing=1,
    ),
    _cue(
        r"\bgasping",
        r"\b(?:not|isn't|stopped|barely|stop) breathing\b"
        r"(?! while| at night| in (?:my|his|her) sleep)",
        r"\bchoking\b",
        breathing=1,
    ),
    _cue(r"\b(?:lips|face|skin)\b.{0,20}\b(?:blue|grey|gray)\b", r"\bturning blue", breathing=1),
    _cue(
        r"\bonly say a few words",
        r"\bribs? (?:is |are )?sucking in",
        r"\bleaning forward to breathe",
        breathing=1,
    ),
    _cue(r"\b(?:oxygen|sats?|spo2)\b.{0,20}\b(?:[5-8]\d|9[0-1]) ?%", breathing=1),
    _cue(r"\bsevere(?:ly)? short(?:ness)? of breath", breathing=1, cardiac=0.5),
    _cue(
        r"\bshort(?:ness)? of breath",
        r"\bbreathless",
        rf"\b{_CANT} catch (?:my|his|her) breath",
        r"\b(?:hard|difficult|trouble|difficulty) (?:to )?breath",
        breathing=0.5,
        cardiac=0.5,
    ),
    _cue(
        r"\bwheez\w*",
        r"\bbreathing (?:really |very )?fast",
        breathing=0.5,
        infant=0.5,
        sepsis=0.5,
        glucose=0.5,
    ),
    # cardiac
    _cue(r"\bhaving a heart attack\b", cardiac=1),
    _cue(r"\bheart attack\b", cardiac=0.5),
    _cue(
        r"\b(?:crushing|severe|heavy|squeezing) (?:pain in (?:my|his|her|the) )?chest",
        rf"{_CHEST}.{{0,30}}\b(?:elephant|crushing)",
        cardiac=1,
    ),
    _cue(rf"{_CHEST}", r"\bchest pains?\b", r"\bclutching (?:his|her|my) chest", cardiac=0.5),
    _cue(
        r"\b(?:left arm|jaw|arm|back)\b.{0,15}\b(?:hurts|pain|numb)",
        r"\b(?:pain|ache|numbness)\b.{0,25}\b(?:left arm|jaw)\b",
        r"\bjaw hurts",
        cardiac=0.5,
    ),
    _cue(
        r"\bsweat(?:ing|y)\b",
        r"\bclammy\b",
        r"\bcold sweat",
        r"\bcold and damp\b",
        cardiac=0.5,
        sepsis=0.5,
    ),
    _cue(r"\bheart (?:is )?(?:racing|pounding)", r"\bpalpitations\b", cardiac=0.5, sepsis=0.25),
    _cue(
        r"\b(?:faint|fainted|pass(?:ed)? out|passing out|black(?:ed|ing)? out)\b",
        cardiac=0.5,
        consciousness=0.5,
    ),
    # stroke
    _cue(r"\bhaving a stroke\b", r"\bworst headache of my life", r"\bthunderclap", stroke=1),
    _cue(r"\bstroke\b", stroke=0.5),
    _cue(
        r"\b(?:face|mouth|smile)\b.{0,30}\b(?:droop\w*|crooked|lopsided|uneven)",
        r"\bdrooping\b",
        stroke=0.5,
    ),
    _cue(
        r"\b(?:arm|leg|side|hand)\b.{0,20}\b(?:weak|numb)\b",
        rf"\b(?:{_CANT}|can't) (?:lift|move|raise)\b",
        r"\b(?:one|left|right) side\b.{0,25}\bnumb",
        r"\bnumb\w*\b.{0,20}\b(?:one side|half)",
        r"\bhalf (?:my|his|her) body",
        stroke=0.5,
    ),
    _cue(
        r"\bslurr\w*",
        rf"\b{_CANT} speak",
        r"\btrouble (?:speaking|understanding)",
        r"\bwords (?:are )?coming out wrong",
        stroke=0.5,
    ),
    _cue(
        r"\b(?:lost|loss of|losing) (?:vision|sight)",
        r"\bsudden(?:ly)? (?:blind|can't see)",
        stroke=0.5,
    ),
    _cue(r"\bconfus(?:ed|ion)\b", stroke=0.5, sepsis=0.5, consciousness=0.25),
    # bleeding
    _cue(
        r"\b(?:bleed\w*|nosebleed)\b.{0,40}\b(?:won't|will not|doesn't|does not|not|can't) stop",
        r"\bwon't stop bleeding",
        bleeding=1,
    ),
    _cue(
        r"\bbleed\w* (?:heavily|a lot|badly|profusely|everywhere)",
        r"\b(?:heavy|severe|uncontrolled) bleeding",
        r"\bblood (?:is )?(?:everywhere|spurting|pouring)",
        r"\bspurting",
        r"\bsoak(?:ed|ing) (?:through )?(?:\d|a|three|two)",
        bleeding=1,
    ),
    _cue(
        r"\b(?:vomiting|throwing up|coughing up|puking|spitting up) (?:up )?"
        r"(?:lots of |a lot of )?blood",
        bleeding=1,
    ),
    _cue(r"\bbleeding from (?:his|her|my|the) head", r"\bhead is bleeding", bleeding=1),
    _cue(
        r"\bblack,? tarry",
        r"\bstabbed\b",
        r"\bgunshot",
        r"\bhit by a car",
        r"\bglass door",
        bleeding=1,
    ),
    _cue(r"\bbleeding\b", r"\bdeep (?:gash|cut|wound)", bleeding=0.5, obstetric=0.5),
    _cue(r"\blightheaded", r"\bdizzy\b", r"\bfeel(?:ing)? faint", bleeding=0.5, anaphylaxis=0.5),
    # seizure
    _cue(
        r"\b(?:having|is having) (?:a )?(?:seizures?|fits?|convulsions?)",
        r"\bfitting\b",
        r"\bconvuls(?:ing|ions)",
        r"\bseizing\b",
        seizure=1,
    ),
    _cue(
        r"\bseizures? in a row",
        r"\bfirst(?: time| ever)? (?:seizure|fit|convulsion)",
        r"\b(?:shaking|jerking) and (?:jerking|shaking)",
        r"\beyes (?:are |have |were )?roll(?:ed|ing) (?:back|up)",
        seizure=1,
    ),
    _cue(r"\bseizures?\b", r"\bfit\b", seizure=0.5),
    # loss of consciousness
    _cue(
        r"\bunconscious\b",
        r"\bunresponsive\b",
        r"\b(?:not|isn't|is not) (?:responding|waking)",
        r"\b(?:won't|doesn't|does not|isn't|not) answer(?:ing)? (?:me|us|when)",
        r"\bwon't (?:respond|wake)",
        r"\bcan't wake\b",
        r"\bcan't be woken",
        r"\bno pulse",
        r"\bcollapsed\b",
        consciousness=1,
    ),
    _cue(
        r"\b(?:drowsy|sleepy|can't stay awake)\b",
        consciousness=0.5,
        infant=0.5,
        poisoning=0.5,
        head_spine=0.5,
        glucose=0.5,
    ),
    _cue(
        r"\b(?:hit|bumped|banged|fell (?:on|onto))\b.{0,20}\bhead\b",
        r"\bhead injury",
        r"\bfell off\b",
        consciousness=0.5,
        head_spine=0.5,
    ),
    _cue(
        r"\b(?:vomit\w*|throwing up|threw up|been sick|being sick|puking)\b",
        head_spine=0.5,
        infant=0.5,
        sepsis=0.25,
        glucose=0.5,
        abdomen=0.5,
    ),
    # pregnancy
    _cue(
        r"\bpregnant\b",
        r"\b\d\d ?(?:weeks|wks)\b(?! ago)",
        r"\bgave birth",
        r"\bhad a baby",
        r"\bpostpartum",
        r"\bin lab(?:ou)?r",
        context=True,
        obstetric=0.5,
    ),
    _cue(
        r"\bwaters? broke",
        r"\bbaby (?:hasn't|has not|isn't|stopped|not) (?:moved|moving|kicking)",
        r"\bbaby is coming",
        r"\bsoaking a pad",
        obstetric=1,
    ),
    _cue(
        r"\b(?:severe|sharp|terrible|bad) (?:pain|headache|cramps?)",
        r"\bpain (?:in|under) (?:my|the) (?:belly|stomach|ribs|abdomen)",
        r"\bshoulder tip",
        r"\bblurr?y vision",
        r"\bflashing lights",
        r"\bcontractions",
        r"\bcramping",
        r"\bfell down",
        r"\bfever\b",
        r"\bswollen\b",
        obstetric=0.5,
    ),
    # sepsis and meningitis
    _cue(
        r"\b(?:rash|spots)\b.{0,30}\b(?:doesn't|does not|won't|wont|not|don't) (?:fade|go away)",
        r"\bnon[- ]blanching",
        r"\bpurple (?:spots|rash)",
        r"\bmottled",
        sepsis=1,
    ),
    _cue(
        r"\bstiff neck",
        r"\bneck is (?:very )?stiff",
        r"\b(?:very )?stiff neck",
        r"\bcan't stand the light",
        r"\blights? hurts?",
        r"\bneck\b.{0,12}\bstiff\b",
        sepsis=0.5,
    ),
    _cue(
        r"\bfever\b",
        r"\bhigh temp\w*",
        r"\b(?:feels?|felt|is|was) (?:really |very )?hot\b",
        r"\bburning up\b",
        r"\b(?:has|with|got|running|have) a (?:temp|temperature|fever)\b",
        sepsis=0.5,
        infant=0.5,
    ),
    _cue(
        r"\bhaven't peed",
        r"\bno wet (?:nappy|nappies|diapers?)",
        r"\bblood pressure is (?:really |very )?low",
        r"\bshivering\b",
        r"\bfloppy\b",
        sepsis=0.5,
        infant=0.5,
    ),
    # burns
    _cue(
        r"\b(?:burn(?:ed|t)|scald(?:ed)?)\b.{0,30}\b(?:badly|severely|blister\w* all over)",
        r"\bsevere burns?\b",
        r"\bskin (?:is |looks |went |turned |turning |going )(?:white|black|charred|leathery)",
        burns=1,
    ),
    _cue(
        r"\bfell (?:off|from) (?:a |the )?(?:roof|ladder|balcony|scaffold\w*|tree|wall|height)",
        head_spine=1,
    ),
    _cue(r"\bnumb\w*\b.{0,20}\b(?:face|arm|leg)\b", stroke=0.5),
    # infants (counted only for a baby under about three months: the context cue)
    _cue(
        r"\b(?:[1-9]|1[0-2]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
        r" ?(?:weeks?|wks?|days?)[- ]?old\b",
        r"\b(?:1|2|3|one|two|three) ?months?[- ]?old\b",
        r"\b(?:baby|newborn|infant|son|daughter|boy|girl)\b[^.,]{0,12}\b(?:[1-9]|1[0-2]|one|two"
        r"|three|four|five|six|seven|eight|nine|ten|eleven|twelve|1|2|3) ?(?:weeks?|wks?|days?"
        r"|months?)\b(?! pregnant)",
        r"\bnew ?borns?\b",
        context=True,
        infant=0.5,
    ),
    _cue(r"\bbab(?:y|ies)\b|\binfants?\b", context=True, infant=0.0),
    _cue(r"\bbulging (?:soft spot|fontanelle)", infant=1, sepsis=1),
    _cue(
        r"\bdrooling\b",
        r"\b(?:was|went|been|fell|found|face ?down|head|stayed|slipped) (?:\w+ )?under ?water\b",
        r"\bdrown",
        breathing=1,
    ),
    _cue(r"\bwon't (?:feed|eat|drink)", r"\bnot feeding", infant=0.5),
)

URGENCY = re.compile(
    r"\bright now\b|\bjust now\b|\bat the moment\b|\bsudden(?:ly)?\b|\bout of nowhere\b"
    r"|\bfor the (?:last|past) (?:\d+|few|couple of) (?:min\w*|hours?)\b"
    r"|\b(?:an|\d+|half an) (?:hour|hours|mins?|minutes) ago\b|\bsince \d+ min"
    r"|\bfor (?:an|over an|half an|\d+|the last) (?:hour|hours|mins?|minutes)\b"
    r"|\bstarted (?:an hour|\d+|this|today)|\bthis morning\b|\btonight\b"
    r"|(?<!can )(?<!that )(?<!to )(?<!will )\bhelp\b(?! (?:with|for|to|heal|prevent|reduce))"
    r"|\bwhat (?:do|should|can) (?:i|we) do\b|\bshould (?:i|we) (?:go|call|wait)\b|\ba&e\b"
    r"|\bthe er\b|\bambulance\b|\b(?:911|999|112)\b|\bis (?:this|it) a (?:heart attack|stroke)"
    r"|\bstill (?:not|no|going|there|bleeding|hurts?|won't|isn't|getting|having|wheez\w*"
    r"|fitting|seizing|unconscious|unresponsive|confused|can't|worse)\b"
    r"|\bgetting worse\b|\bworse fast\b|\bplease (?:help|hurry|answer|quick)"
    r"|\b(?:help|quick|hurry),? please\b|\bpl[sz]\b|\beven sitting"
)
NEGATION = re.compile(
    r"\b(?:no|not|without|never|denies|deny|don't|doesn't|didn't|haven't|hasn't|isn't|"
    r"wasn't|aren't|nor|none)\b"
)
PAST = re.compile(
    r"\b(?:\d+|a|an|one|two|three|four|five|six|few|several|couple of|many) "
    r"(?:years?|yrs?|months?|weeks?|days?|summers?|winters?) (?:ago|back)\b"
    r"|\blast (?:year|month|week|winter|summer|spring|autumn|fall|weekend)\b|\bin (?:19|20)\d\d\b"
    r"|\bhistory of\b|\bas a (?:child|kid|teen|teenager|baby)\b|\bwhen (?:i|he|she) was\b"
    r"|(?<!since )\byesterday\b|\bused to\b|\bsurvived\b|\brecover(?:ing|ed) from\b"
    r"|\bprevious\b|\bin my first\b|\b(?:was|were|in) (?:january|february|march|april|june|july"
    r"|august|september|october|november|december)\b"
)
#: Just before a cue: the event is over ("had a stroke", "after my heart attack").
PAST_LEAD = re.compile(
    r"(?<!'ve )(?<!have )(?<!has )(?<!just )\b(?:had|suffered|survived|after)"
    r"(?: (?:a|an|my|his|her))?"
    r"(?: (?:high|bad|mild|small|major|minor|big|mini))?\s*$"
)
CONDITIONAL = re.compile(
    r"\b(?:if|whether|in case|whenever)\b|\bwhen (?:he|she|i|they|you) (?:has|have|gets?|is|am)\b"
    r"|\bwhen (?:i'm|he's|she's|they're|you're)\b"
)
QUESTION_START = re.compile(
    r"^\W*(?:what|what's|whats|how|which|why|when|where|who|is|are|can|could|does|do|should"
    r"|would|will)(?![\w'])(?!\s+(?:barely|hardly|not|only|just|still|really|now|no longer)\b)"
)
INFORMATIONAL = re.compile(
    r"\b(?:signs? of|symptoms? of|warning signs|prevent\w*|risk of|risk factors?|difference "
    r"between|first aid|course|class|essay|statistics|research|limits?|maximum|max dose|side "
    r"effects?|for (?:therapists|nurses|students)|resources|how long|how common|treatment for"
    r"|vaccine|in general|why (?:are|is|do|does)|dangerous for)\b"
)
#: Categories counted only when one of their ``context`` cues matched too.
NEEDS_CONTEXT = frozenset({"obstetric", "infant", "eye"})
#: A long-standing, recurring complaint: no urgency bonus.
CHRONIC = re.compile(
    r"\bsame as (?:always|usual)\b|\bas (?:always|usual)\b|\bhappens (?:monthly|weekly|every|a lot"
    r"|often|sometimes)\b|\bfor (?:years|months|ages)\b|\bon and off\b|\bcomes? and go(?:es)?\b"
    r"|\bevery (?:day|night|week|month|time)\b|\b(?:sometimes|often|usually|occasionally)\b"
)
PERSONAL = re.compile(r"\b(?:i|i'm|i've|i'd|me|my|we|we're|our|us)\b")
