"""Text processing for medical questions: cleaning, keywords, safe FTS queries, intent, sentences.

Consumer questions arrive as chatty messages ("Hello doctor, ... Thanks in advance, John");
:func:`normalise_query` strips that noise before embedding, :func:`keywords` turns what is
left into the terms of the keyword search, and :func:`fts5_query` / :func:`tsquery` quote
those terms so that no user text is ever parsed as query syntax. :func:`detect_intent`
guesses the MedQuAD question type; :func:`split_sentences` feeds extractive answering.

Everything here is pure and regex-based: no I/O, no models.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_Stripper = Callable[[str], str]

# --- normalise_query -------------------------------------------------------------------

#: A URL, less any final punctuation that belongs to the sentence around it.
_URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)]")
_EMAIL = re.compile(r"(?i)(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
#: Phone candidates; kept only with 10–15 digits, or 8–15 after a leading "+" (so that
#: dates, doses and lab values such as "2020-01-15" or "120 80" survive).
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{6,24}\d(?!\w)")
_ADDRESS = (
    r"(?:there|all|everyone|everybody|sir|madam|sir\s*/\s*madam|sir\s+or\s+madam|ma'?am"
    r"|doctor|doc|dr\.?|team|friends?)"
)
_GREETING_WORD = (
    r"(?:hi+|hello|hey|hiya|greetings|namaste|good\s+(?:morning|afternoon|evening|day)|dear)"
)
#: A greeting (or a bare "Doctor,"), then address words or a capitalised name, then a
#: comma, colon, "!" or newline.
_GREETING_PUNCT = re.compile(
    rf"^\s*(?i:{_GREETING_WORD}|doctor|doc|dr\.?|sir|madam|sir\s*/\s*madam)\b(?!-)"
    rf"(?:\s+(?:(?i:{_ADDRESS})|[A-Z][\w'-]*\.?)){{0,3}}\s*[,:;!\n]+"
)
#: A greeting with no punctuation after it: strip only the greeting and address words.
_GREETING_BARE = re.compile(rf"(?i)^\s*{_GREETING_WORD}\b(?!-)(?:\s+{_ADDRESS}\b)*[\s.,!:;-]*")
#: Closing courtesies; recognised after any whitespace at the very end of the message.
_THANKS = (
    r"(?:(?:many\s+|thanks\s+and\s+|thank\s+you\s+and\s+)?"
    r"(?:thanks|thank\s+you|thx)(?:\s+(?:so|very)\s+much|\s+a\s+lot|\s+again)?"
    r"(?:\s+in\s+advance|\s+for\s+(?:your|the)\s+(?:time|help|answer|reply|response|advice))?"
    r"(?:\s+(?:and\s+)?(?:best\s+|kind\s+|warm\s+)?regards)?"
    r"|(?:best|kind|warm|warmest)\s+regards|regards|sincerely|cheers|best\s+wishes"
    r"|yours\s+(?:truly|sincerely|faithfully))"
)
#: Pleas for an answer; only as a sentence of their own ("... ?  Please help.").
_PLEA = (
    r"(?:please\s+(?:help|reply|respond|advise|answer)(?:\s+me)?(?:\s+asap|\s+soon)?"
    r"|(?:help|reply|respond|answer|advise)\s+me(?:\s+asap|\s+soon)?"
    r"|(?:i\s+am\s+|i'm\s+)?(?:waiting|looking\s+forward)\s+(?:for|to)\s+(?:your|a)\s+"
    r"(?:kind\s+|quick\s+|early\s+)?(?:reply|response|answer)"
    r"|(?:i\s+)?hope\s+to\s+hear\s+from\s+you(?:\s+soon)?"
    r"|any\s+(?:help|advice|suggestions?)\s+(?:would\s+be|is|will\s+be)\s+"
    r"(?:greatly\s+|much\s+|really\s+)?appreciated)"
)
#: What may follow a sign-off: "doctor", a short capitalised name ("Regards, John Smith").
_SIGNATURE = (
    r"[\s.!,:;-]*(?:(?i:doctor|doc|dr|sir|madam)\b[\s.!,:;-]*)?"
    r"(?:[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3}\s*[.!]?)?\s*$"
)
_SIGNOFF = re.compile(
    rf"(?:^|(?<=[\s.!?,;]))(?i:{_THANKS}){_SIGNATURE}"
    rf"|(?:^|(?<=[.!?,;\n])\s*)(?i:{_PLEA}){_SIGNATURE}"
)
#: Marks where noise was cut out, so that "call me at <phone> or <e-mail>" goes as a whole.
_HOLE = "\x00"
_CONTACT_ONE = (
    r"(?:\b(?:call|phone|text|contact|e-?mail|mail|reach|message|whatsapp|write\s+to|visit"
    r"|see)(?:\s+(?:me|us))?(?:\s+(?:at|on|via))?\s*:?\s*)?\x00"
)
_CONTACT = re.compile(rf"(?i){_CONTACT_ONE}(?:\s*(?:,|/|or|and)\s*{_CONTACT_ONE})*")
#: Punctuation left stranded by a removal: "fever. Call me at <phone>." → "fever."
_ORPHAN_PUNCT = re.compile(r"(?<=[.!?])(?:\s+[.,;:]++)+(?=\s|$)")
#: Control characters (NUL, escapes, ...): never part of a question, and ``_HOLE`` is one.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_STRIPS = 8
_LEADING_JUNK = re.compile(r"^[\s,.;:!)\]-]+")


def normalise_query(text: str) -> str:
    """Strip a consumer message down to its question.

    Removes URLs, e-mail addresses and phone numbers, leading greetings ("Hi", "Hello
    doctor,", "Dear Sir/Madam,") and trailing sign-offs ("Thanks in advance", "Regards,
    John"), and collapses whitespace. If nothing with a word character would be left but
    the input had one, the original text (whitespace collapsed) is returned instead.

    Args:
        text: The raw message.

    Returns:
        The cleaned question; ``""`` only when ``text`` has no word characters.
    """
    text = _CONTROL.sub(" ", text)
    cleaned = _strip_noise(text)
    cleaned = _strip_repeatedly(cleaned, _strip_greeting)
    cleaned = _strip_repeatedly(cleaned, _strip_signoff)
    cleaned = _collapse(cleaned)
    if re.search(r"\w", cleaned) or not re.search(r"\w", text):
        return cleaned
    return _collapse(text)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _strip_noise(text: str) -> str:
    """Remove URLs, e-mail addresses and phone numbers, and the words that announce them."""
    text = _URL.sub(_HOLE, text)
    text = _EMAIL.sub(_HOLE, text)
    text = _PHONE.sub(_phone_or_keep, text)
    text = _CONTACT.sub(" ", text)
    return _ORPHAN_PUNCT.sub("", text)


def _phone_or_keep(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match[0])
    plus = match[0].startswith("+")
    return _HOLE if (10 <= digits <= 15 or (plus and 8 <= digits <= 15)) else match[0]


def _strip_repeatedly(text: str, strip: _Stripper) -> str:
    """Apply ``strip`` until the text stops changing ("Hi doctor, good morning, ...").

    At most :data:`_MAX_STRIPS` times: real messages need two or three, and the cap keeps
    pathological input ("Thanks " * 2000) linear.
    """
    for _ in range(_MAX_STRIPS):
        stripped = strip(text)
        if stripped == text:
            break
        text = stripped
    return text


def _strip_greeting(text: str) -> str:
    text = _GREETING_PUNCT.sub("", text, count=1)
    if _GREETING_PUNCT.match(text) is None:
        text = _GREETING_BARE.sub("", text, count=1)
    return _LEADING_JUNK.sub("", text)


def _strip_signoff(text: str) -> str:
    return _SIGNOFF.sub("", text, count=1).rstrip(" \t\n,;:-")


# --- keywords --------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    """The whitespace-separated words of a literal word list."""
    return frozenset(words.split())


_STOPWORDS = _wordset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by could couldn't did didn't do does doesn't doing
    don't during each few for from further had hadn't has hasn't have haven't having he
    he'd he'll he's her here here's hers herself him himself his i i'd i'll i'm i've if in
    into is isn't it it's its itself let's me more most mustn't my myself no nor not of off
    on once only or other ought our ours ourselves out over own same shan't she she'd she'll
    she's should shouldn't so some such than that that's the their theirs them themselves then
    there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's with won't would wouldn't you you'd
    you'll you're you've your yours yourself yourselves s t ll re ve m
    can cannot can't could may might must shall will also just still even really quite
    """
)
#: Words of how people ask, not of what they ask about.
_FILLER = _wordset(
    """
    how does tell know please kindly help want wanted need needs like get got getting give
    ask asking asked question questions answer answers thing things something anything
    anyone someone somebody anybody everything hi hello hey dear sir madam doctor doc dr
    thanks thank thx regards sincerely advance advice advise suggest suggestion suggestions
    explain explanation mean means meaning info possible possibly lot lots much many etc
    """
)
_DROP = _STOPWORDS | _FILLER
_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
#: Words ending in "s" that are not plurals (or whose singular would mislead).
_NOT_PLURAL = _wordset(
    """
    aids analysis diabetes herpes measles mumps rabies scabies caries rickets shingles
    series species news lens feces faeces tetanus virus lupus sepsis uterus stress illness
    pancreas bronchus fetus mucus sinus thymus status pus gas bus
    """
)


def keywords(text: str, *, stem: bool = False) -> list[str]:
    """The content words of ``text``, for the keyword (full-text) query.

    Lowercases, splits into word tokens (letters and digits, keeping inner hyphens and
    apostrophes: "covid-19", "b12", "o'brien"), drops possessive "'s", English stopwords
    and question filler ("what", "how", "can", "does", "please", "know", "tell", ...), and
    de-duplicates in order of first appearance.

    Args:
        text: Any text, typically a normalised query.
        stem: Also reduce regular plurals ("infections" → "infection", "therapies" →
            "therapy"); medical words ending in "s" such as "diabetes" are left alone.

    Returns:
        The keywords, in order of first appearance.
    """
    words: list[str] = []
    for token in _TOKEN.findall(text.lower().replace("’", "'")):
        word = token.removesuffix("'s")
        if word in _DROP:
            continue
        word = _singular(word) if stem else word
        if word not in words:
            words.append(word)
    return words


def _singular(word: str) -> str:
    """A light plural stemmer: only the regular English "-s", "-es" and "-ies" endings."""
    if len(word) <= 3 or word in _NOT_PLURAL or not word.endswith("s") or word[-2] in "su'":
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")) or word[:-2] in _NOT_PLURAL:
        return word[:-2]
    if word.endswith(("is", "os")):
        return word
    return word[:-1]


# --- query builders --------------------------------------------------------------------


def fts5_query(words: Iterable[str]) -> str:
    """An SQLite FTS5 ``MATCH`` expression: the words as quoted strings joined by ``OR``.

    Each word becomes an FTS5 string (``"term"``, inner ``"`` doubled), so operators,
    column filters, ``*`` or ``NEAR`` in user text are matched as plain text, never parsed.
    Words without a letter or digit are dropped, as are repeats.

    Args:
        words: Search terms, e.g. from :func:`keywords`.

    Returns:
        The expression, or ``""`` when no term is left (the caller should skip the search).
    """
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in _terms(words))


def tsquery(words: Iterable[str]) -> str:
    """A PostgreSQL ``to_tsquery`` input: the words as quoted lexemes joined by ``|``.

    Each word becomes ``'term'`` with embedded quotes and backslashes doubled, so ``&``,
    ``!``, ``:*`` or ``<->`` in user text are not operators. Pass the result as a bound
    parameter, e.g. ``to_tsquery('english', :q)``. Words without a letter or digit are
    dropped, as are repeats.

    Args:
        words: Search terms, e.g. from :func:`keywords`.

    Returns:
        The expression, or ``""`` when no term is left (the caller should skip the search).
    """
    return " | ".join(
        "'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in _terms(words)
    )


def _terms(words: Iterable[str]) -> list[str]:
    """Stripped, de-duplicated words that contain a letter or digit; no control characters."""
    terms: list[str] = []
    for word in words:
        term = "".join(ch for ch in word if ch.isprintable()).strip()
        if re.search(r"[^\W_]", term) and term not in terms:
            terms.append(term)
    return terms


# --- detect_intent ---------------------------------------------------------------------

#: Intent → MedQuAD question types (``qtype``) it stands for.
INTENT_QTYPES: dict[str, tuple[str, ...]] = {
    "research": ("research",),
    "side_effects": ("side effects",),
    "dosage": ("dosage",),
    "complications": ("complications",),
    "genetics": ("genetic changes",),
    "inheritance": ("inheritance",),
    "frequency": ("frequency",),
    "stages": ("stages",),
    "support": ("support groups",),
    "outlook": ("outlook",),
    "susceptibility": ("susceptibility",),
    "prevention": ("prevention",),
    "diagnosis": ("exams and tests",),
    "treatment": ("treatment",),
    "causes": ("causes",),
    "symptoms": ("symptoms",),
    "information": ("information",),
}
INTENTS: tuple[str, ...] = tuple(INTENT_QTYPES)

_I = "(?i)"
#: Specific intents, most specific first: on a tie in position the earlier one wins.
_INTENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(_I + pattern))
    for name, pattern in (
        ("research", r"\bresearch|\bclinical\s+trials?\b|\bbeing\s+(?:done|studied)\b"),
        ("side_effects", r"\bside[\s-]+effects?\b|\badverse\s+(?:effects?|reactions?)\b"),
        (
            "frequency",
            r"\bhow\s+(?:common|rare|prevalent|many\s+people)\b|\bprevalence\b"
            r"|\bincidence\b",
        ),
        ("dosage", r"\bdos(?:e|es|age|ing)\b|\bhow\s+(?:much|many)\s+\w+\s+(?:should|can)\s"),
        ("complications", r"\bcomplications?\b|\blong[\s-]+term\s+effects?\b"),
        ("genetics", r"\bgenetic\s+(?:changes?|mutations?|basis|causes?)\b|\bgenes?\b"),
        ("inheritance", r"\binherit\w*|\bhereditary\b|\bruns?\s+in\s+(?:the\s+)?famil"),
        ("stages", r"\bstages\b|\bstaging\b|\bwhat\s+stage\b"),
        ("support", r"\bsupport\s+groups?\b"),
        (
            "outlook",
            r"\boutlook\b|\bprognosis\b|\blife\s+expectancy\b|\bsurvival\b"
            r"|\bcurable\b|\bhow\s+long\s+(?:\w+\s+){0,4}(?:live|survive|last)\b",
        ),
        (
            "susceptibility",
            r"\bat\s+(?:high\s+|higher\s+|greater\s+)?risk\b"
            r"|\brisk\s+factors?\b|\bsusceptib\w*|\bmore\s+likely\s+to\s+(?:get|develop)\b"
            r"|\bwho\s+(?:gets|can\s+get|is\s+affected)\b",
        ),
        (
            "prevention",
            r"\bprevent\w*|\bavoid\s+(?:getting|catching)\b|\bvaccin\w*"
            r"|\breduce\s+(?:the|my|your)\s+risk\b|\bprotect\s+(?:myself|yourself|against)\b",
        ),
        (
            "diagnosis",
            r"\bdiagnos\w*|\btests?\b|\btesting\b|\bexams?\b|\bexamination\b"
            r"|\bscreen(?:ing)?\b|\bbiopsy\b|\bdetect\w*",
        ),
        (
            "treatment",
            r"\btreat\w*|\btherap\w*|\bcur(?:e|es|ed|ing)\b|\bremed(?:y|ies)\b"
            r"|\bmedications?\b|\bmedicines?\b|\bmanag(?:e|ed|ing|ement)\b|\bsurgery\b"
            r"|\bget\s+rid\s+of\b|\bwhat\s+(?:should|can)\s+i\s+(?:do|take)\b"
            r"|\bwhat\s+to\s+do\b|\brelie(?:f|ve)\b",
        ),
        (
            "causes",
            r"\bcaus(?:e|es|ed|ing)\b|\bwhy\s+(?:do|does|did|am|is|are)\b"
            r"|\breasons?\s+(?:for|why)\b|\btrigger\w*|\betiology\b",
        ),
        (
            "symptoms",
            r"\bsymptom\w*|\bsigns?\s+(?:of|and)\b|\bwarning\s+signs?\b"
            r"|\bwhat\s+does\s+(?:\w+\s+){0,4}feel\s+like\b",
        ),
    )
)
_INFORMATION = re.compile(
    _I + r"\bwhat\s+(?:is|are)\b|\bwhat's\b|\btell\s+me\s+about\b|\bdefin(?:e|ition)\b"
    r"|\bmeaning\s+of\b|\bwhat\s+does\s+(?:\w+\s+){1,4}mean\b|\boverview\b"
    r"|\binformation\s+(?:about|on)\b|\bwhat\s+do\s+you\s+know\s+about\b"
)


def detect_intent(text: str) -> str | None:
    """Guess the MedQuAD question type of a question (case-insensitive keyword rules).

    Question sentences (those ending in "?") are read first, then the whole text. Within
    the first part that matches, the intent whose cue appears earliest wins ("What causes
    the symptoms of ...?" → ``"causes"``); "what is X" questions with no more specific
    cue are ``"information"``.

    Args:
        text: A question or message.

    Returns:
        One of :data:`INTENTS` (see :data:`INTENT_QTYPES` for the MedQuAD labels), or
        ``None`` when no cue is found.
    """
    questions = [s for s in split_sentences(text) if s.rstrip("\"')]").endswith("?")]
    for part in [*questions, text]:
        intent = _earliest_intent(part)
        if intent is not None:
            return intent
    return None


def _earliest_intent(text: str) -> str | None:
    """The specific intent whose cue starts first; else "information"; else None."""
    best: tuple[int, int, str] | None = None
    for priority, (name, pattern) in enumerate(_INTENT_PATTERNS):
        match = pattern.search(text)
        if match is not None and (best is None or (match.start(), priority) < best[:2]):
            best = (match.start(), priority, name)
    if best is not None:
        return best[2]
    return "information" if _INFORMATION.search(text) else None


# --- split_sentences -------------------------------------------------------------------

#: Abbreviations that never end a sentence (lowercase, without the final period).
_TITLES = _wordset(
    """
    dr mr mrs ms prof sr jr st vs v cf fig figs al approx ca dept gen gov ref vol pp ch eq
    ave mt rev hon lt col sgt capt jan feb apr jun jul aug sept oct nov dec esp incl
    """
)
#: Abbreviations that end a sentence only before a capital letter ("5 mg. twice" vs "5 mg. It").
_UNITS = _wordset(
    """
    mg mcg µg ug ml dl kg g cm mm km lb lbs oz hr hrs min mins sec secs wk wks yr yrs mo mos
    mmol iu etc inc ltd co
    """
)
_BULLET_CHARS = "•·‣◦▪●○■□➢➤►▸"
_LINE_BULLET = re.compile(rf"[ \t]*(?:[-*+‒–—{_BULLET_CHARS}]|\d{{1,3}}[.)])(?=\s)[ \t]*")
_INLINE_BULLET = re.compile(rf"(?:(?<=\s)|^)[{_BULLET_CHARS}](?=\s)")
_TERMINAL = re.compile(r"(?<![.!?])[.!?]++[\"'”’)\]]*+(?=\s)")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_PREV_WORD = re.compile(r"([^\W\d_][\w.]*)\.+$")
_INITIALISM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
#: A line this short (no final punctuation) is a heading or list item, not a soft wrap.
_SHORT_LINE = 40


def split_sentences(text: str) -> list[str]:
    """Split text into sentences and list items.

    Paragraphs (blank lines), bullet and numbered list items (``-``, ``*``, ``•``,
    ``1.``, ``2)`` ...), short heading lines and lines ending in punctuation are separate
    units; a long line without final punctuation is taken as soft-wrapped. Within a unit,
    sentences end at ``.``, ``!`` or ``?`` before whitespace, except after abbreviations
    ("Dr.", "vs.", "e.g.", "i.e.", "U.S."), after units before a lowercase word ("5 mg.
    twice daily"), and after "..." before a lowercase word.

    Args:
        text: Any text.

    Returns:
        The sentences in order. Each is a verbatim, stripped substring of ``text`` (bullet
        markers removed); pieces without a letter or digit are dropped.
    """
    sentences: list[str] = []
    for start, end in _units(text):
        for piece_start, piece_end in _sentence_spans(text, start, end):
            piece = text[piece_start:piece_end].strip()
            if re.search(r"[^\W_]", piece):
                sentences.append(piece)
    return sentences


def _units(text: str) -> list[tuple[int, int]]:
    """Spans of the paragraphs, list items and lines that no sentence may cross."""
    spans: list[tuple[int, int]] = []
    start = 0
    for line_match in re.finditer(r"[^\n]*(?:\n|$)", text):
        line, line_end = line_match[0], line_match.end()
        bullet = _LINE_BULLET.match(line)
        if bullet is not None:
            spans.append((start, line_match.start()))
            start = line_match.start() + bullet.end()
        if _ends_unit(line) or line_end == len(text):
            spans.append((start, line_end))
            start = line_end
        if line_end == len(text):
            break
    return [span for piece in spans for span in _split_inline_bullets(text, *piece)]


def _ends_unit(line: str) -> bool:
    """Whether a line break after ``line`` ends the unit (not a soft wrap)."""
    stripped = line.strip()
    return not stripped or len(stripped) < _SHORT_LINE or stripped[-1] in ".!?:;\"')]”’"


def _split_inline_bullets(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a span at bullets in running text ("Symptoms: • fever • cough")."""
    cuts = [m.start() for m in _INLINE_BULLET.finditer(text, start, end)]
    bounds = [start, *[cut for cut in cuts if cut > start]]
    pieces = [(a, b) for a, b in zip(bounds, [*bounds[1:], end], strict=True)]
    return [(a + 1, b) if a in cuts else (a, b) for a, b in pieces]


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one unit at sentence-ending punctuation."""
    spans: list[tuple[int, int]] = []
    for match in _TERMINAL.finditer(text, start, end):
        if _is_boundary(text, match.start(), match.end(), end):
            spans.append((start, match.end()))
            start = match.end()
    spans.append((start, end))
    return spans


def _is_boundary(text: str, punct_start: int, punct_end: int, end: int) -> bool:
    """Whether the punctuation at ``punct_start`` ends a sentence."""
    following = _NEXT_CHAR.match(text, punct_end, end)
    if following is None:
        return True
    punct = text[punct_start:punct_end]
    if "?" in punct or "!" in punct:
        return True
    lower_next = following[1].islower()
    if punct.startswith("..."):
        return not lower_next
    word = _PREV_WORD.search(text, max(0, punct_start - 40), punct_start + 1)
    return _period_ends(word[1].lower() if word else "", lower_next)


def _period_ends(word: str, lower_next: bool) -> bool:
    """Whether a period after ``word`` ends the sentence, given the next letter's case."""
    if word in _TITLES or _INITIALISM.fullmatch(word):
        return False
    if word in _UNITS:
        return not lower_next
    return True
