"""The translated texts themselves, over every entry of every catalog (so entries added later are held to
the same rules): complete, placeholders intact, French typography, and each language's agreed terms.

French puts a narrow no-break space (U+202F) before ``?`` ``!`` ``;`` and a no-break space (U+00A0)
before ``:``: with an ordinary space a phone may wrap a lone "?" onto its own line, and with none the text
is not French typography. Apostrophes are typographic (’). The glossary below keeps one term per idea
(docs/pages.md, "Languages").
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
TRANSLATED = ("de", "fr", "es")

NNBSP = "\u202f"
NBSP = "\u00a0"
#: A format directive as Python's ``%`` operator reads it (``%(brand)s``, ``%s``, ``%%``).
DIRECTIVE = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[a-zA-Z%]")
#: `?` `!` `;` `:` as punctuation, not inside a URL or a time (followed by a letter, digit, / or =).
PUNCTUATION = re.compile(r"[?!;:](?![\w/=])")

#: Per language: wording that must not come back, and why (one term per idea, the register agreed).
GLOSSARY: dict[str, dict[str, str]] = {
    "de": {
        r"\b(du|dich|dir|dein\w*|euch|euer)\b": "formal Sie throughout",
        r"an die diese E-Mail ging": "say 'über die Sie diese E-Mail erhalten haben'",
        r"Ihre Anfrage ist bei uns": "say 'Wir haben Ihre Abmeldung erhalten'",
        r"Empfänger\b": "address the reader (Sie) instead of a masculine generic",
    },
    "fr": {
        r"\b(dés)?abonnée?s?\b": "masculine/feminine-only participle: rephrase neutrally",
        r"\binscrite?s?\b": "masculine/feminine-only participle: rephrase neutrally",
        r"vous avons pas trouvée?s?\b": "'nous ne vous avons pas trouvé' is masculine only",
        r"Dites-nous en": "'Dites-nous-en plus'",
        r"Méthode": "HTTP jargon: say what happened",
        r"\btu\b|\bton\b|\bta\b|\btes\b": "vous throughout",
    },
    "es": {
        r"todo el correo de marketing": "one term: 'todos los correos de marketing'",
        r"Aviso de privacidad": "Spain's term: 'Política de privacidad'",
        r"Método": "HTTP jargon: say what happened",
        r"\b(tú|tu|tus|puedes|quieres|necesitas)\b": "usted throughout",
    },
}


def _catalog(language: str) -> list[Message]:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return [message for message in read_po(handle) if message.id]


def _template_ids() -> set[str]:
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def _texts(message: Message) -> list[str]:
    """The msgstr(s) of an entry (a plural entry has several)."""
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return [text or "" for text in strings]


def french_typography_problems(text: str) -> list[str]:
    """What in ``text`` breaks French typography (an empty list when nothing does)."""
    problems = []
    for match in PUNCTUATION.finditer(text):
        mark, start = match.group(), match.start()
        before = text[start - 1] if start else ""
        wanted = NBSP if mark == ":" else NNBSP
        if before != wanted:
            problems.append(f"{before!r} before {mark!r} instead of {wanted!r}")
    problems += [f"straight apostrophe or quote {mark!r}" for mark in re.findall(r"['\"‘]", text)]
    for match in re.finditer("«", text):
        if text[match.end() : match.end() + 1] not in (NNBSP, NBSP):
            problems.append("no no-break space after «")
    for match in re.finditer("»", text):
        if text[match.start() - 1 : match.start()] not in (NNBSP, NBSP):
            problems.append("no no-break space before »")
    return problems


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_entry_of_the_template_is_translated_and_not_fuzzy(language: str) -> None:
    catalog = {message.id: message for message in _catalog(language)}
    missing = sorted(_template_ids() - set(catalog))
    assert missing == [], f"{language}: not in the catalog: {missing}"
    untranslated = [m.id for m in catalog.values() if not all(t.strip() for t in _texts(m))]
    assert untranslated == [], f"{language}: empty msgstr: {untranslated}"
    fuzzy = [message.id for message in catalog.values() if message.fuzzy]
    assert fuzzy == [], f"{language}: fuzzy: {fuzzy}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_placeholders_are_exactly_the_msgids(language: str) -> None:
    """The same ``%(name)s`` as often as in the English, and no stray ``%`` the formatting would choke on
    (the templates' ``_()`` always formats)."""
    wrong = []
    for message in _catalog(language):
        msgids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        expected = Counter(DIRECTIVE.findall(msgids[0]))
        names = {name: "x" for name in re.findall(r"%\((\w+)\)", msgids[0])}
        for text in _texts(message):
            if Counter(DIRECTIVE.findall(text)) != expected or "%" in DIRECTIVE.sub("", text):
                wrong.append((message.id, text))
                continue
            if names:
                text % names  # raises on a malformed directive
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_text_has_doubled_or_edge_spaces(language: str) -> None:
    """Two spaces in a row (ordinary or no-break) or a space at either end is a slip, never wanted."""
    slips = [
        text
        for message in _catalog(language)
        for text in _texts(message)
        if re.search(r"\s\s", text) or text != text.strip()
    ]
    assert slips == []


def test_every_french_text_has_french_typography() -> None:
    problems = {
        text: found
        for message in _catalog("fr")
        for text in _texts(message)
        if (found := french_typography_problems(text))
    }
    assert problems == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Que voulez-vous ?", "' ' before '?'"),
        ("Que voulez-vous?", "'s' before '?'"),
        (f"Que voulez-vous{NBSP}?", "'\\xa0' before '?'"),
        ("Adresse e-mail :", "' ' before ':'"),
        ("Réessayez ; merci", "' ' before ';'"),
        ("Merci !", "' ' before '!'"),
        ("Il n'y a rien", "straight apostrophe"),
        (f"«{NNBSP}oui»", "no no-break space before »"),
        ("« oui »", "no no-break space after «"),
    ],
)
def test_the_french_typography_check_catches_each_mistake(text: str, problem: str) -> None:
    assert any(problem in found for found in french_typography_problems(text))
    assert french_typography_problems(f"Que voulez-vous{NNBSP}? Adresse{NBSP}: https://x.example/?a=1") == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_language_keeps_its_agreed_terms(language: str) -> None:
    found = [
        (text, why)
        for message in _catalog(language)
        for text in _texts(message)
        for pattern, why in GLOSSARY[language].items()
        if re.search(pattern, text, flags=re.IGNORECASE)
    ]
    assert found == []
