"""The shape the project promises newcomers (docs/architecture.md): small modules, docstrings that say why,
SQL written out rather than assembled from f-strings. Checked here so a change that breaks it fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
MAX_MODULE_LINES = 350
MIN_DOCSTRING_SHARE = 0.90


def _modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def _public_definitions(tree: ast.AST) -> list[ast.AST]:
    """Public functions and classes, methods of classes included (a name without a leading underscore)."""
    found: list[ast.AST] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if not node.name.startswith("_"):
                found.append(node)
            if isinstance(node, ast.ClassDef):
                found.extend(_public_definitions(node))
    return found


def test_no_module_in_app_is_over_350_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_nine_in_ten_public_functions_and_classes_have_a_docstring() -> None:
    definitions = [
        (path, node)
        for path in _modules()
        for node in _public_definitions(ast.parse(path.read_text(encoding="utf-8")))
    ]
    missing = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path, node in definitions
        if not ast.get_docstring(node)
    ]
    share = 1 - len(missing) / len(definitions)
    assert len(definitions) > 100  # the walk found the code at all
    assert share >= MIN_DOCSTRING_SHARE, f"{share:.0%} documented; without a docstring: {missing}"


def test_no_sql_is_built_with_f_strings_that_need_a_bandit_exemption() -> None:
    exempted = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _modules()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "noqa: S608" in line
    ]
    assert exempted == []
