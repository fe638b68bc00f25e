"""More cues for :mod:`medkb.answer.redflags`: the categories added with the triage step.

Same form as :mod:`medkb.answer.redflag_cues` (a weight of 1 flags alone, 0.5 needs a
second cue, a number or a semantic match of the same category). Written against the
``tune`` half of ``tests/data/triage.jsonl``; the ``report`` half measures them.
"""

from __future__ import annotations

from medkb.answer.redflag_cues import Cue, _cue

_CANT = r"(?:can't|cannot|can not|unable to|couldn't)"
_SOMEONE = r"(?:my|his|her|the|their|our|your)"

CUES: tuple[Cue, ...] = (
    # cardiac
    _cue(
        r"\bchest\b.{0,40}\b(?:sitting on|elephant|band|vice|crush\w*|squeez\w*|heav\w*|"
        r"pressure|tight\w*|belt)",
        r"\b(?:crush\w*|squeez\w*|heav\w*|pressure|pressing|tight\w*|burning)\b.{0,25}\bchest\b",
        cardiac=0.5,
    ),
    _cue(r"\b(?:clutching|holding|grabbing) (?:his|her|my) chest", cardiac=0.5),
    _cue(
        r"\bchest\b.{0,40}\b(?:won't|wont|will not|not|doesn't|isn't) (?:go(?:ing)? away|stop\w*|"
        r"eas\w*|settl\w*)",
        r"\bchest (?:pain|hurts?|is hurting)\b.{0,20}\b(?:[7-9]|10) ?(?:/|out of) ?10\b",
        cardiac=0.5,
    ),
    _cue(
        r"\b(?:pain|ache|tightness)\b.{0,40}\b(?:into|to|down|up) (?:my|his|her|the|both)? ?"
        r"(?:left )?(?:arms?|jaw|neck|shoulder)",
        r"\b(?:arm|arms)\b.{0,20}\b(?:heavy|tingl\w*|numb|dead)\b",
        cardiac=0.5,
    ),
    _cue(r"\bno pulse\b", r"\b(?:doing|giving|started) cpr\b", cardiac=1, consciousness=1),
    _cue(r"\bnitro\w*\b.{0,40}\b(?:still|not help|didn't help|no help)", cardiac=1),
    _cue(r"\b(?:nause\w*|nausia|feel sick|threw up)\b", cardiac=0.5, abdomen=0.25),
    _cue(r"\b(?:grey|gray|ashen|pale)\b", cardiac=0.5, bleeding=0.5, arrhythmia=0.5),
    # stroke
    _cue(
        r"\b(?:talking|speaking) (?:nonsense|gibberish|rubbish)",
        r"\bwords (?:are )?(?:jumbled|mixed up|muddled)",
        rf"\b{_CANT} (?:find|get) (?:out )?(?:her|his|my|the|any) words",
        rf"\b{_CANT} (?:talk|speak) (?:properly|proper|right|clearly)",
        r"\bnot making sense\b",
        stroke=0.5,
        consciousness=0.5,
    ),
    _cue(
        r"\b(?:unable to|can't|cannot) move (?:his|her|my) (?:right|left) (?:side|arm|leg)",
        r"\b(?:right|left) (?:hand|arm|leg|side)\b.{0,20}\b(?:won't work|not working|dead|flopp\w*"
        r"|gave way|went numb)",
        r"\bface\b.{0,25}\b(?:dropped|looks? (?:weird|wierd|strange|funny) (?:on )?one side)",
        r"\bone side of (?:her|his|my) face",
        stroke=1,
    ),
    _cue(
        r"\b(?:face|mouth|smile|lips?)\b.{0,25}\b(?:crooked|twisted|lopsided|droop\w*|dropped|"
        r"slack|sagging|uneven|gone down|pulled (?:to )?(?:one|the) side)",
        stroke=1,
    ),
    _cue(
        r"\bhalf (?:of )?(?:my|his|her|the) (?:face|body)\b",
        r"\b(?:right|left|one) side\b.{0,20}\b(?:tingl\w*|numb\w*|weak\w*|dead|floppy)",
        r"\bdribbling\b",
        r"\b(?:speech|voice|words?|talking)\b.{0,15}\b(?:weird|strange|funny|odd|wrong|garbled|"
        r"muddled|gone)\b",
        r"\bface\b.{0,15}\b(?:heavy|numb|dead|weak)\b",
        r"\b(?:right|left) (?:hand|arm|leg)\b.{0,15}\b(?:limp|useless|won't (?:move|hold))\b",
        r"\b(?:can't|cannot) understand (?:what|anything|me|us|him|her)\b",
        r"\bcan't say (?:his|her|my) (?:own )?name\b",
        stroke=0.5,
    ),
    _cue(r"\bdouble vision\b", r"\bcan't walk straight\b", stroke=0.5, head_spine=0.5, eye=0.25),
    # breathing
    _cue(
        r"\basthma attack\b",
        r"\binhaler\b.{0,30}\b(?:not|isn't|doesn't|does nothing|no) ?(?:help\w*|work\w*)?",
        r"\bworking (?:so |really )?hard to breathe",
        r"\bstruggling (?:to|for) (?:get )?(?:breathe?|air)",
        r"\bcan (?:only )?say (?:two|2|a few|one) words",
        r"\bcan't finish a sentence",
        r"\bchoked on\b",
        r"\bblue (?:around|round) (?:the|his|her|my) (?:lips|mouth)",
        r"\b(?:sucking|pulling|drawing|caving) in\b.{0,25}\b(?:ribs?|chest|tummy|neck)\b",
        r"\b(?:ribs?|chest|tummy|skin)\b.{0,25}\b(?:sucking|pulling|drawing|caving) in\b",
        r"\bnostrils? flar\w*",
        r"\bcan (?:barely|hardly) get (?:any )?air\b",
        r"\bstruggling for (?:breath|air)\b",
        r"\bsomething stuck in (?:his|her|my|the) throat\b",
        breathing=1,
    ),
    _cue(
        r"\bbreathing (?:hard|heavily|heavy|weird|strange|slowly|slow)\b",
        r"\bchest (?:is )?heaving\b",
        breathing=0.5,
    ),
    _cue(r"\bheavy breathing\b", r"\bdeep and fast\b", breathing=0.5, glucose=0.5),
    # anaphylaxis
    _cue(
        r"\ballergic to\b",
        r"\b(?:stung|sting)\b",
        r"\b(?:after )?(?:ate|eaten|eating|had|bite of|bit of)\b.{0,25}\b(?:nuts?|peanuts?|shrimp|"
        r"shellfish|crab|prawns|fish|sesame|eggs?|satay|pesto|walnuts?|almonds?|cashews?|pecans?|"
        r"hazelnuts?|lobster|mussels?)\b",
        anaphylaxis=0.5,
    ),
    _cue(
        r"\b(?:lips?|tongue|face|eyes?)\b.{0,20}\b(?:blew up|blown up|huge|swell\w*|swoll\w*|"
        r"puff\w*)",
        r"\bblotchy\b",
        r"\bitchy all over\b",
        r"\b(?:swell\w*|swoll\w*|puff\w*|blow\w* up)\b.{0,20}"
        r"\b(?:lips?|tongue|face|eyes?|throat)\b",
        anaphylaxis=0.5,
    ),
    _cue(r"\bvoice\b.{0,15}\b(?:funny|hoarse|strange|weird|croaky)\b", anaphylaxis=0.5),
    _cue(r"\bcan (?:hardly|barely) swallow\b", anaphylaxis=0.5),
    _cue(
        r"\bafter (?:the |a |my |his |her )?(?:new )?(?:antibiotic|medicine|medication|injection"
        r"|tablet|jab|vaccine|contrast)\w*",
        anaphylaxis=0.5,
    ),
    _cue(
        r"\bthroat\b.{0,15}\b(?:thick|closing|swelling|swollen|tight)\b",
        anaphylaxis=0.5,
    ),
    _cue(r"\bwheez\w*", r"\bcough\w*\b", r"\bhard to swallow\b", anaphylaxis=0.5),
    # bleeding
    _cue(
        r"\b(?:black|tarry) (?:poo|poop|stools?)",
        r"\bpoo?p? is black",
        r"\b(?:poop|poo|stool)\b.{0,10}\bblack\b",
        r"\b(?:loads|lots|a lot) of blood\b",
        r"\bcoffee grounds\b",
        r"\bblood (?:is )?(?:pouring|gushing|pumping)",
        r"\bpumping out\b",
        r"\b(?:coughing|vomiting|throwing|spitting|puking|bringing) up\b.{0,25}\bblood\b",
        r"\b(?:bleeding|soaked|soaking|bled) (?:right )?through\b",
        r"\bthrough (?:\w+ ){0,2}(?:towels?|bandages?|dressings?|tea towels?|clothes)\b",
        r"\b(?:vomiting|throwing up|coughing|puking|spitting|bringing up) (?:\w+ ){0,3}blood\b",
        bleeding=1,
    ),
    _cue(r"\b(?:faint|dizzy)\b", bleeding=0.5),
    _cue(r"\b(?:gush\w*|squirt\w*|spurt\w*|pour\w*|pump\w*)\b", bleeding=0.5),
    _cue(
        r"\b(?:cut|sliced|slashed|gash\w*|wound|bleed\w*|stabbed)\b",
        r"\b(?:can't|cannot|won't|wont) stop\b",
        bleeding=0.5,
    ),
    # poisoning
    _cue(
        r"\b(?:took|swallowed|ate|drank|had)\b.{0,30}\b(?:a (?:whole )?bunch|a handful|loads|lots"
        r"|all|a load|a pile)\b",
        r"\bempty (?:bottles?|box(?:es)?|packets?|packs?|blisters?|strips?)\b",
        r"\b(?:weed ?killer|antifreeze|lamp oil|paraffin|white spirit|pesticide|rat poison|"
        r"toilet cleaner|drain cleaner|dishwasher (?:pods?|tablets?)|laundry (?:pods?|capsules?)"
        r"|washing (?:pods?|capsules?)|button batter\w*|bleach)",
        poisoning=1,
    ),
    _cue(
        r"\b(?:xanax|valium|diazepam|oxycodone|oxy|morphine|codeine|tramadol|sertraline|"
        r"fluoxetine|citalopram|amitriptyline|insulin|lithium|adhd pills|sleeping pills)\b",
        poisoning=0.5,
    ),
    _cue(
        r"\b(?:gas (?:heater|fire|boiler)|boiler|carbon monoxide|generator|exhaust)\b",
        r"\bfumes\b",
        r"\bmixed bleach\b",
        r"\bwith (?:vodka|alcohol|wine|beer|whisk(?:e)?y|booze|drink|gin|rum)\b",
        poisoning=0.5,
        breathing=0.25,
    ),
    _cue(r"\b(?:we all|all of us|everyone (?:here|in the house))\b", poisoning=0.5),
    _cue(
        r"\b(?:toddler|kid|child|baby|\d+ ?(?:month|year|yr)s?[- ]old|\d+ ?yo|son|daughter)\b"
        r".{0,25}\b(?:had|ate|eaten|swallowed|got into|took|chewed|drank)\b.{0,30}"
        r"\b(?:tablets?|pills?|meds|medicines?|medication|capsules?|vitamins?)\b",
        poisoning=1,
    ),
    # seizure
    _cue(
        r"\bseizure\b.{0,20}\b(?:won't|wont|not) stop",
        r"\b(?:twitching|jerking|shaking|convuls\w*)\b.{0,40}\b(?:foam\w*|unrespon\w*|"
        r"not respond\w*|won't (?:respond|answer)|not answering)",
        r"\bfoaming at the mouth",
        r"\bhad a (?:seizure|fit)\b.{0,30}\b(?:bath|water|pool|pregnan\w*)",
        r"\b(?:seizure|fit) with (?:his|her) fever",
        seizure=1,
    ),
    _cue(r"\b(?:shaking|jerking|twitching) all over\b", r"\bjerking\b", seizure=0.5),
    _cue(
        r"\b(?:another|a second|a third|one more) (?:seizure|fit)\b",
        r"\banother one (?:straight|right|just|soon) after\b",
        r"\b(?:[2-9]|two|three|four|five|several|multiple) (?:seizures|fits|convulsions)\b",
        r"\bback to back\b",
        seizure=1,
    ),
    # glucose
    _cue(
        r"\b(?:diabetic|diabetes|type ?[12]|insulin|hypo)\b",
        r"\bketones?\b",
        r"\bfruity\b",
        glucose=0.5,
    ),
    _cue(r"\b(?:acting|seems?) (?:drunk|strange|weird|odd)\b", glucose=0.5),
    _cue(
        r"\bconfus\w*",
        rf"\b{_CANT} (?:think|focus|concentrate)",
        r"\bshak(?:y|ing)\b",
        r"\bsweat\w*",
        r"\bslurr\w*",
        glucose=0.25,
    ),
    _cue(r"\bdka\b", glucose=1),
    # altered consciousness
    _cue(
        r"\b(?:passed out|blacked out)\b.{0,40}\b(?:not|isn't|won't|hasn't) (?:waking|wake|come|"
        r"respond)",
        r"\b(?:only )?respond\w* (?:only )?to pain\b",
        r"\bhasn't come (?:round|around|to)\b",
        r"\b(?:won't|can't|cannot) (?:wake|rouse)\b",
        r"\bnot answering (?:questions|us|me)\b",
        r"\bnodding off\b",
        r"\bstill (?:out|not awake|unconscious|not come round)\b",
        r"\bbarely keep (?:her|him|them) awake\b",
        r"\bpassed out with vomit\b",
        consciousness=1,
    ),
    _cue(r"\bhard to (?:rouse|wake)\b", consciousness=0.5),
    _cue(r"\bfloppy\b", consciousness=0.5),
    _cue(
        r"\bhallucinat\w*",
        r"\bdoesn't (?:recogni[sz]e|know) (?:me|us|where|what day|what year|who)\b",
        r"\bseeing (?:things|people)\b",
        r"\bmuddled\b",
        r"\b(?:acting|talking) (?:really )?(?:strange|strangely|weird|odd)",
        r"\bnot (?:like )?(?:her|him)sel[fv]\b",
        r"\bnot acting (?:him|her)self\b",
        r"\bgibberish\b",
        r"\bstaring\b",
        r"\bagitated\b",
        consciousness=0.5,
        head_spine=0.25,
    ),
    # head and spine
    _cue(
        r"\b(?:hit|bumped|banged|knocked|whacked)\b.{0,25}\bhead\b",
        r"\bon (?:his|her|my|the) head\b",
        r"\bknocked out\b",
        r"\b(?:fell|fall|fallen|rolled|tumbled)\b.{0,30}\b(?:stairs|bunk|bed|ladder|bike|horse|trampoline|"
        r"climbing frame|slide|height|ice)\b",
        r"\b(?:car|bike|motorbike) (?:crash|accident)\b",
        r"\bcame off (?:his|her|my|the) (?:motor)?(?:bike|horse|scooter)\b",
        r"\bcrash\b",
        r"\bdove into shallow",
        head_spine=0.5,
    ),
    _cue(
        rf"\b{_CANT} (?:feel|move) (?:his|her|my|their) (?:legs|feet|arms)",
        r"\b(?:legs|feet|hands|arms) (?:are |feel |went )?(?:numb|tingl\w*|weak)",
        r"\bnumb legs\b",
        r"\bclear fluid (?:from|coming)",
        r"\bone pupil (?:bigger|larger)",
        r"\bpupils? (?:are )?(?:different|uneven)",
        r"\bkeeps? repeating (?:him|her|my)sel[fv]",
        head_spine=0.5,
        vascular=0.25,
    ),
    _cue(r"\bneck (?:pain|hurts)\b", r"\bback pain\b", r"\bneck\b.{0,10}\bhurts\b", head_spine=0.5),
    _cue(r"\bconfus\w*|\bnot making sense\b|\bdazed\b", head_spine=0.5),
    _cue(r"\b(?:after )?(?:a fall|fell|fallen|slipped)\b", head_spine=0.25),
    _cue(r"\bblood thinners?\b", r"\bwarfarin\b", head_spine=0.5, bleeding=0.5),
    # sepsis and meningitis
    _cue(
        r"\b(?:chills|rigou?rs|shaking chills)\b",
        r"\bchemo\w*\b",
        r"\b(?:neck so stiff|chin to (?:his|her|my )?chest)",
        r"\bpneumonia\b",
        r"\bcellulitis\b",
        r"\b(?:wound|incision)\b.{0,30}\b(?:red|hot|pus|oozing)\b",
        r"\bkidney infection\b",
        r"\buti\b",
        sepsis=0.5,
    ),
    _cue(r"\b(?:red-purple|purple|purplish) (?:dots|spots|rash)", sepsis=1),
    # acute abdomen
    _cue(
        r"\b(?:severe|terrible|excruciating|unbearable|agonising|agonizing|worst|10/10|"
        r"stabbing|sharp|really bad|so bad)\b.{0,40}\b(?:belly|stomach|tummy|abdom\w*|"
        r"abdominal|groin|testicle|ribs|side)\b",
        r"\b(?:belly|stomach|tummy|abdom\w*)\b.{0,25}\b(?:rock hard|hard as a board|swollen|"
        r"agony|severe|excruciating)\b",
        r"\bin agony\b",
        abdomen=0.5,
    ),
    _cue(
        r"\bvomiting green\b",
        r"\b(?:hasn't|hasnt|not) (?:pooped|passed wind|passed gas)",
        r"\btesticle\b",
        r"\bkicked in the (?:balls|groin)",
        r"\bredcurrant jelly\b",
        r"\blump in (?:my|his|her) groin\b",
        r"\bhurts more when i let go\b",
        r"\byellow (?:eyes|skin)\b",
        r"\bbloody diarrh\w*",
        r"\b(?:drawing|pulling) (?:his|her) (?:knees|legs) up\b",
        abdomen=0.5,
    ),
    _cue(r"\bcan't (?:stand up straight|lie still|move)\b", abdomen=0.5),
    _cue(r"\bblood in (?:his|her|my|the) (?:nappy|poo|poop|stool|diaper)\b", abdomen=0.5),
    _cue(
        r"\b(?:belly|stomach|tummy|abdom\w*|abdominal)\b.{0,15}\b(?:pain|ache|hurts?|cramps?)\b",
        r"\b(?:pain|ache|cramps?) (?:in|on) (?:my|his|her|the) (?:lower |upper )?(?:right |left )?"
        r"(?:belly|stomach|tummy|abdomen|side)\b",
        abdomen=0.5,
    ),
    _cue(r"\bfever\b", r"\bhigh temp\w*", abdomen=0.5),
    _cue(
        r"\bredcurrant jelly\b",
        r"\b(?:belly|stomach|tummy|abdom\w*|abdominal)\b.{0,20}\b(?:[7-9]|10) ?(?:/|out of) ?10\b",
        abdomen=1,
    ),
    # aortic dissection and pulmonary embolism
    _cue(
        r"\b(?:tearing|ripping|torn|ripped)\b",
        r"\bthrough to (?:my|his|her|the) back\b",
        r"\bbetween (?:my|his|her|the) shoulder blades\b",
        vascular=0.5,
    ),
    _cue(
        r"\b(?:tearing|ripping)\b.{0,30}\b(?:chest|back|shoulder blades)\b",
        r"\b(?:chest|back)\b.{0,30}\b(?:tearing|ripping|torn|ripped)\b",
        vascular=0.5,
    ),
    _cue(
        r"\bdifferent in (?:each|both|the two) arms?\b",
        r"\bmarfan\w*",
        r"\baneurysm\b",
        vascular=0.5,
    ),
    _cue(
        r"\b(?:long (?:flight|car journey|drive|trip)|after (?:my |his |her )?(?:knee |hip )?"
        r"(?:surgery|operation|c-section|replacement))",
        r"\b(?:calf|leg)\b.{0,30}\bswollen\b",
        r"\bswollen (?:painful )?(?:calf|leg)\b",
        r"\bon the pill\b",
        r"\bhad a clot\b",
        r"\bwhen i (?:breathe|take a (?:deep )?breath)\b",
        r"\bworse (?:on|when) breathing in\b",
        r"\bcoughing (?:up )?blood\b",
        r"\bhip replacement\b",
        r"\bafter (?:having|giving birth to) (?:my|a|the|her) baby\b",
        r"\b(?:\d+|two|three|a few) (?:days|weeks) after (?:having|giving birth|my|her|the)\b",
        r"\bpostpartum\b",
        vascular=0.5,
    ),
    _cue(r"\bsudden(?:ly)?\b.{0,40}\b(?:breathless|short of breath|chest pain)", vascular=0.25),
    # arrhythmia
    _cue(
        r"\bheart\b.{0,20}\b(?:racing|pounding|going crazy|fluttering|irregular|beating fast)",
        r"\bpalpitations\b",
        r"\bpacemaker\b",
        r"\b(?:fast|irregular|racing|pounding) (?:and irregular )?(?:heart ?beat|pulse|heart)\b",
        r"\b(?:pulse|heart ?beat|heart rate)\b.{0,12}\b(?:very |really )?(?:slow|weak|irregular)\b",
        arrhythmia=0.5,
    ),
    _cue(
        r"\b(?:faint\w*|pass(?:ed)? out|passing out|black(?:ed|ing)? out|collapsed|light ?headed|"
        r"dizzy)\b",
        arrhythmia=0.5,
        consciousness=0.25,
    ),
    # obstetric
    _cue(
        r"\bpregnant\b",
        r"\b\d\d ?(?:weeks|wks)\b(?! ago)",
        r"\bweeks pregnant\b",
        r"\bgave birth\b",
        r"\bc-?section\b",
        context=True,
        obstetric=0.5,
    ),
    _cue(
        r"\bwaters? (?:have |has |had |just )*(?:broken|broke|gone|went|burst)",
        r"\bsomething in my vagina\b",
        r"\bbaby (?:hasn't|has not) moved\b",
        r"\bsoak\w* (?:through )?(?:a |the |my )?pads?\b",
        obstetric=1,
    ),
    _cue(
        r"\bbleeding\b",
        r"\bpuffy\b",
        r"\bseeing (?:spots|stars)",
        r"\bheadache\b",
        r"\bbreathless\b",
        r"\bchest pain\b",
        r"\bseizure\b",
        r"\b(?:can't|cannot) keep (?:even )?(?:water|anything) down\b",
        r"\bnot peeing\b",
        r"\bdizzy\b",
        r"\btoo early\b",
        obstetric=0.5,
    ),
    # newborns and infants
    _cue(
        r"\bgrunting\b",
        r"\b(?:very |really )?yellow\b",
        r"\blips (?:look |are )?blue\b",
        r"\bwon't wake\b",
        r"\bhigh pitched cry\b",
        r"\bcold to (?:the )?touch\b",
        r"\bno wet nappies\b",
        r"\bvomiting every feed\b",
        r"\bsleepy\b",
        infant=0.5,
    ),
    # burns
    _cue(
        r"\b(?:boiling|hot) (?:water|oil|tea|coffee|soup)\b",
        r"\bboiling\b",
        r"\b(?:scald\w*|burn(?:ed|t|s)?)\b",
        r"\belectric shock\b",
        r"\b(?:acid|drain cleaner|caustic|lye)\b",
        r"\bon fire\b",
        r"\b(?:house|kitchen) fire\b",
        r"\bfirework\b",
        r"\bbonfire\b",
        r"\bpulled the kettle\b",
        r"\bgrabbed the iron\b",
        r"\btouched the (?:oven|stove|hob)\b",
        burns=0.5,
    ),
    _cue(r"\belectrocut\w*", burns=1),
    _cue(
        r"\bblister\w*",
        r"\b(?:skin|it's) (?:peeling off|black|charred|white|leathery)",
        r"\bskin (?:is )?(?:coming|peeling|falling) off\b",
        r"\bblack in the middle\b",
        r"\bsinged\b",
        r"\bsoot\b",
        r"\b(?:breathed in|inhaled|inhaling|breathing in) (?:a lot of |lots of )?smoke\b",
        r"\bsmoke inhalation\b",
        r"\bhoarse\b",
        r"\bred raw\b",
        burns=0.5,
    ),
    _cue(r"\b(?:face|chest|whole arm|back|groin|hands?|legs?)\b", context=True, burns=0.5),
    # heat and cold injury
    _cue(
        r"\bheat ?stroke\b",
        r"\bhypotherm\w*",
        r"\bfrost ?bite\b",
        r"\bfell through the ice\b",
        r"\b(?:stopped|not) sweating\b",
        r"\bhot car\b",
        r"\bfrozen\b",
        r"\bshivering stopped\b",
        heat_cold=0.5,
    ),
    _cue(
        r"\b(?:in the|from the) (?:sun|heat|heatwave|snow|cold)\b",
        r"\b(?:heatwave|greenhouse|hot kitchen|sauna)\b",
        r"\b(?:icy|cold) (?:water|lake|river|sea)\b",
        r"\bno heating\b",
        r"\bheating (?:broke|broken|went off|failed|stopped|not working)\b",
        r"\bice cold\b",
        r"\b(?:very|freezing|so) cold\b",
        r"\b(?:red )?hot(?: and)? dry skin\b",
        r"\bskin (?:is )?burning hot\b",
        r"\bvery hot\b",
        r"\bin the snow\b",
        r"\b(?:after )?(?:ice climbing|frost\w*|freezing)\b",
        r"\bhiking\b",
        heat_cold=0.5,
    ),
    _cue(
        r"\b(?:confus\w*|not making sense|staggering|slurr\w*|drowsy|sleepy|collapsed|passed out|"
        r"floppy|barely talking|not responding|clumsy|mumbling)\b",
        r"\b(?:fingers|toes)\b.{0,20}\b(?:white|black|hard)",
        heat_cold=0.5,
    ),
    # eye emergencies
    _cue(
        r"\b(?:bleach|chemical\w*|oven cleaner|acid|superglue|glue|cleaner|liquid|detergent)\b"
        r".{0,30}\beyes?\b",
        r"\beyes?\b.{0,20}\b(?:bleach|chemical|oven cleaner|acid|superglue)",
        r"\b(?:splinter|metal|glass)\b.{0,20}\beye\b",
        r"\b(?:curtain|shadow) (?:came|over|across|in)\b",
        r"\bsudden(?:ly)? (?:blind\w*|loss of vision|lost (?:my |the )?vision)",
        rf"\b{_CANT} see (?:out of|anything)",
        eye=1,
    ),
    _cue(r"\bhalos?\b", eye=0.5),
    _cue(
        r"\beyes?\b",
        r"\bvision\b",
        r"\bfloaters\b",
        r"\bflashes\b",
        r"\bpupil\b",
        eye=0.5,
    ),
    _cue(r"\b(?:hit|poked|punch\w*|cork|flew into|stick)\b", eye=0.5),
    _cue(
        r"\b(?:painful|pain|bleeding|very blurry|bulging|double|much worse|leaking|screaming|"
        r"burns?|won't open)\b",
        eye=0.5,
    ),
    _cue(r"\beyes?\b|\bvision\b|\bpupils?\b|\bsee\b|\bsight\b", context=True, eye=0.0),
    # suicide and self-harm
    _cue(
        r"\bgoodbye (?:notes?|messages?|letters?|mum|mom|dad)\b",
        r"\b(?:hang(?:ing)?|hanged) (?:my|him|her)sel[fv]\b",
        r"\bgoing to take them all\b",
        r"\bpills ready\b",
        r"\bgiving (?:his|her|my) things away\b",
        r"\bend it\b",
        r"\bno (?:reason|point) to keep living\b",
        r"\bplanning it\b",
        r"\bwant to do worse\b",
        r"\b(?:cut|slit|slashed) (?:my|his|her) wrists?\b",
        r"\bwon't be (?:around|here|alive) (?:tomorrow|anymore|much longer)\b",
        r"\bsaying goodbye (?:forever|for good)\b",
        r"\b(?:texted|messaged|sent|posted|text|message)\b.{0,25}\bgoodbye\b",
        always=True,
        suicide=1,
    ),
    _cue(
        r"\b(?:kill|hurt|hang|harm|cut) (?:him|her|them)sel(?:f|ves)\b",
        r"\bend (?:his|her|their) (?:own )?life\b",
        suicide=1,
    ),
)
