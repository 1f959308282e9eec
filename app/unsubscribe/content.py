"""A deployment's own reasons and page texts, from ``content.toml`` in ``TEMPLATE_DIR``: no Python needed.

Why TOML: it is in the standard library (``tomllib``), has no implicit typing surprises (YAML's ``no``
becoming ``False``), allows comments, and a marketer edits it like an ini file (docs/pages.md has an
example). The file is optional; without it the pages use the built-in texts and reasons.

What a broken file does: ``problems(path)`` lists **every** problem at once (``flask check-config`` prints
them and exits 2). The app itself still starts with a broken file, because a page that refused to load
would refuse unsubscribes: each broken entry is left out (logged once at start) and the built-in text or
reason takes its place; a file that does not parse at all is ignored as a whole.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .i18n import SUPPORTED_LOCALES
from .reasons import REPORT_LABELS, Reason
from .texts import BUILT_IN, PLACEHOLDERS

logger = logging.getLogger(__name__)

#: The content file's name inside TEMPLATE_DIR.
CONTENT_FILE = "content.toml"
#: Reason codes: what UNSUB_REASONS and the form's POST carry.
CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_LABEL_CHARS = 200
MAX_REPORT_CHARS = 100
MAX_TEXT_CHARS = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Content:
    """What the file gives: own or relabelled reasons by code, and own texts (key -> locale -> text)."""

    reasons: Mapping[str, Reason] = field(default_factory=dict)
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def content_path(path: str | Path) -> Path:
    """``path`` itself when it names a file, else ``content.toml`` inside the folder ``path``."""
    path = Path(path)
    return path / CONTENT_FILE if path.is_dir() else path


def problems(path: str | Path) -> list[str]:
    """Every problem of the content file at ``path`` (a file, or the TEMPLATE_DIR holding it); ``[]`` when
    it is fine or absent. For ``flask check-config``."""
    return list(read(path).problems)


def load(template_dir: str | Path | None) -> Content:
    """The usable content of TEMPLATE_DIR's file (nothing when there is none); problems are logged."""
    if not template_dir:
        return Content()
    content = read(template_dir)
    for problem in content.problems:
        logger.error("content.toml: %s; the built-in text or reason is used instead", problem)
    return content


def read(path: str | Path) -> Content:
    """Parse and check the file: its usable entries, and every problem found on the way."""
    file = content_path(path)
    if not file.is_file():
        return Content()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return Content(problems=(f"{file}: not UTF-8 text",))
    except tomllib.TOMLDecodeError as exc:
        return Content(problems=(f"{file}: not valid TOML: {exc}",))
    found: list[str] = []
    for key in data:
        if key not in ("reasons", "texts"):
            found.append(f"unknown section [{key}] (the sections are [reasons.CODE] and [texts.KEY])")
    reasons = _reasons(data.get("reasons", {}), found)
    texts = _texts(data.get("texts", {}), found)
    return Content(reasons=reasons, texts=texts, problems=tuple(found))


def _string_problem(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return "is not a text in quotes"
    if not value.strip():
        return "is empty"
    if _CONTROL.search(value):
        return "holds a control character (a line break?)"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    return None


def _reasons(section: Any, found: list[str]) -> dict[str, Reason]:
    if not isinstance(section, dict):
        found.append("reasons: write each reason as a table, [reasons.CODE]")
        return {}
    reasons: dict[str, Reason] = {}
    for code, entry in section.items():
        where = f"[reasons.{code}]"
        before = len(found)
        if not CODE_PATTERN.fullmatch(code):
            found.append(
                f"{where}: a code is lower-case letters, digits and _, at most 40, starting with a letter"
            )
        if not isinstance(entry, dict):
            found.append(f"{where}: write it as a table with report = … and a label per language")
            continue
        labels: dict[str, str] = {}
        for name, value in entry.items():
            if name == "report":
                problem = _string_problem(value, MAX_REPORT_CHARS)
            elif name in SUPPORTED_LOCALES:
                problem = _string_problem(value, MAX_LABEL_CHARS)
                labels[name] = value
            else:
                problem = f"unknown key (use report, {', '.join(SUPPORTED_LOCALES)})"
            if problem:
                found.append(f"{where} {name} {problem}")
        report = entry.get("report", REPORT_LABELS.get(code))
        if report is None:
            found.append(
                f'{where}: a reason of your own needs report = "…" (the label Marketing Cloud reports show)'
            )
        if len(found) == before:
            reasons[code] = Reason(code, report.strip(), labels)
    return reasons


def _texts(section: Any, found: list[str]) -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for key, entry in _leaves(section, ""):
        where = f"[texts.{key}]" if key else "[texts]"
        if key not in BUILT_IN:
            found.append(f"{where}: no such text (the keys are listed in docs/pages.md)")
            continue
        if not isinstance(entry, dict):
            found.append(f"{where}: write it as a table with one text per language")
            continue
        good: dict[str, str] = {}
        for locale, value in entry.items():
            problem = _text_problem(key, locale, value)
            if problem:
                found.append(f"{where} {locale} {problem}")
            else:
                good[locale] = value
        if good:
            texts[key] = good
    return texts


def _leaves(section: Any, prefix: str) -> list[tuple[str, Any]]:
    """``[texts.form.heading]`` and ``[texts."form.heading"]`` alike: (dotted key, its table of languages).
    A table is a leaf when one of its keys is a language or a value is not a table."""
    if isinstance(section, dict) and not section and not prefix:
        return []  # no [texts] at all (a file with reasons only), or an empty one
    if not isinstance(section, dict) or not section:
        return [(prefix, section)]
    if any(k in SUPPORTED_LOCALES or not isinstance(v, dict) for k, v in section.items()):
        return [(prefix, section)]
    leaves: list[tuple[str, Any]] = []
    for name, value in section.items():
        leaves.extend(_leaves(value, f"{prefix}.{name}" if prefix else name))
    return leaves


def _text_problem(key: str, locale: str, value: Any) -> str | None:
    if locale not in SUPPORTED_LOCALES:
        return f"is not a language of the pages ({', '.join(SUPPORTED_LOCALES)})"
    problem = _string_problem(value, MAX_TEXT_CHARS)
    if problem:
        return problem
    allowed = PLACEHOLDERS[key]
    used = set(re.findall(r"%\((\w+)\)", value))
    if used - allowed:
        names = ", ".join(f"%({name})s" for name in sorted(allowed)) or "none"
        return f"uses {', '.join(sorted(used - allowed))}, which this text does not have (it has: {names})"
    if "%" in re.sub(r"%%|%\(\w+\)s", "", value):
        return "has a % that is not a placeholder such as %(brand)s (write %% for a percent sign)"
    return None
