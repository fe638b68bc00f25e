"""Text processing for medical questions: cleaning, keywords and safe FTS queries.

Consumer questions arrive as chatty messages ("Hello doctor, ... Thanks in advance, John");
:func:`normalise_query` strips that noise before embedding, :func:`keywords` turns what is
left into the terms of the keyword search, and :func:`fts5_query` / :func:`tsquery` quote
those terms so that no user text is ever parsed as query syntax. Intent detection lives in
:mod:`medkb.search.intent`, sentence splitting in :mod:`medkb.search.sentences`.

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


def wordset(words: str) -> frozenset[str]:
    """The whitespace-separated words of a literal word list."""
    return frozenset(words.split())


_STOPWORDS = wordset(
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
_FILLER = wordset(
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
_NOT_PLURAL = wordset(
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
