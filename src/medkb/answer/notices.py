"""The urgent notices: what to do now, per emergency category, per language.

:data:`NOTICES` maps a language code (``MEDKB_ANSWER__LANGUAGE``) to its texts: a
``headline`` put first in every emergency answer, a ``crisis`` line added for suicide and
self-harm, and one "what to do now" line per category of :mod:`medkb.answer.triage`.
``{number}`` in any text is replaced by ``MEDKB_ANSWER__EMERGENCY_NUMBER``. To add a
language, add a dict with the same keys (``tests/unit/test_triage_notices.py`` checks that
every language covers every category). The actions follow common first-aid guidance (NHS,
Red Cross) and never replace what the emergency dispatcher says.
"""

from __future__ import annotations

from medkb.errors import ConfigError

_EN: dict[str, str] = {
    "headline": "URGENT: this may be a medical emergency. Call {number} now or go to the "
    "nearest emergency department. Do not wait for an online answer.",
    "crisis": "If you are thinking about suicide or harming yourself, you are not alone: call "
    "{number} or a crisis line now (988 in the US and Canada, 116 123 Samaritans in the UK "
    "and Ireland), and stay with someone you trust.",
    "cardiac": "While you wait: stop all activity and sit down; if the person is not allergic "
    "and the dispatcher agrees, chew one aspirin (300 mg). If they collapse and are not "
    "breathing normally, start CPR.",
    "stroke": "Note the time the symptoms started and tell the dispatcher; do not give food, "
    "drink or medicines. Every minute counts.",
    "breathing": "Sit upright and stay calm; use a reliever inhaler or prescribed oxygen if "
    "there is one. For choking, give back blows and abdominal thrusts.",
    "anaphylaxis": "Use an adrenaline auto-injector (EpiPen) now if there is one, lie down "
    "with legs raised (sit up if breathing is hard); a second dose after 5 minutes if no "
    "better.",
    "bleeding": "Press firmly on the wound with a clean cloth and keep pressing; raise the "
    "injured part. Lie down if faint.",
    "poisoning": "Do not make the person vomit. Keep the packet or bottle and tell the "
    "dispatcher or poison centre what was taken, how much and when. A swallowed button "
    "battery needs an emergency department now.",
    "seizure": "Protect the head and move hard objects away; do not hold them down or put "
    "anything in the mouth. Time the seizure; once it stops, place them on their side.",
    "glucose": "If the person is awake and can swallow and the sugar is low, give fast sugar "
    "(juice, glucose tablets) now. If drowsy or unable to swallow, give nothing by mouth; use "
    "a glucagon kit if there is one.",
    "consciousness": "Check breathing. If breathing, put them on their side (recovery "
    "position) and stay with them; if not, start CPR.",
    "head_spine": "Keep the person still and do not move the head or neck unless they are in "
    "danger; keep them awake and watched.",
    "sepsis": "Say you are worried about sepsis or meningitis and describe the fever, rash, "
    "breathing and confusion to the dispatcher.",
    "abdomen": "Do not eat or drink anything until a doctor has seen you; note when the pain "
    "started and where it is.",
    "vascular": "Keep still and sit or lie in the most comfortable position; do not walk "
    "around or drive yourself.",
    "arrhythmia": "Sit or lie down; if the person faints and is not breathing normally, start "
    "CPR and use a defibrillator (AED) if one is near.",
    "obstetric": "Lie on your left side; bring your maternity notes; call the maternity unit "
    "on the way.",
    "infant": "A baby under three months with a fever, or a floppy, very sleepy or "
    "blue-lipped baby, must be seen now; keep the baby feeding if they will.",
    "burns": "Cool the burn under cool running water for 20 minutes, remove jewellery and "
    "loose clothing, then cover loosely with cling film. No ice, creams or butter.",
    "suicide": "Stay with the person, or ask someone to be with you; remove pills, blades "
    "and other means if it is safe.",
    "heat_cold": "Heat: move to a cool place and cool the body with water and fanning. Cold: "
    "move indoors, remove wet clothes and warm slowly with blankets.",
    "eye": "For a chemical in the eye, rinse it with clean running water for 20 minutes now. "
    "Do not rub the eye or remove anything stuck in it.",
}

#: Notice texts by language code.
NOTICES: dict[str, dict[str, str]] = {"en": _EN}


def texts(language: str) -> dict[str, str]:
    """The notice texts of ``language``.

    Raises:
        ConfigError: no notices are written in ``language``.
    """
    found = NOTICES.get(language.strip().lower())
    if found is None:
        raise ConfigError(
            f"No urgent notices in language {language!r}: set MEDKB_ANSWER__LANGUAGE to one "
            f"of {', '.join(sorted(NOTICES))}, or add the language to "
            "medkb.answer.notices.NOTICES."
        )
    return found


def compose(
    category: str,
    *,
    language: str,
    number: str,
    headline: str = "",
    crisis: str = "",
) -> str:
    """The urgent notice for ``category``: headline, crisis line (suicide), what to do now.

    Args:
        category: One of :data:`medkb.answer.redflag_cues.CATEGORIES`.
        language: A key of :data:`NOTICES`.
        number: The emergency number put in place of ``{number}``.
        headline: Replaces the language's headline when not empty.
        crisis: Replaces the language's crisis line when not empty.
    """
    table = texts(language)
    parts = [headline or table["headline"]]
    if category == "suicide":
        parts.append(crisis or table["crisis"])
    parts.append(table.get(category, ""))
    return " ".join(part.replace("{number}", number) for part in parts if part)
