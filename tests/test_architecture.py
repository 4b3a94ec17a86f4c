"""The shape of the code: imports point inwards, Redis in one module, text never becomes HTML."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from server.pages import templates

ROOT = Path(__file__).resolve().parent.parent
STDLIB_OK_IN_DOMAIN = {
    "__future__", "collections", "dataclasses", "datetime", "enum", "functools", "itertools",
    "re", "typing", "unicodedata", "urllib", "string", "math", "rapidfuzz",
}  # fmt: skip


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("moderation"), ids=lambda p: p.name)
def test_the_domain_imports_only_itself_and_the_standard_library(path: Path) -> None:
    for module in imports(path):
        top = module.split(".")[0]
        assert top == "moderation" or top in STDLIB_OK_IN_DOMAIN, f"{path.name} imports {module}"


@pytest.mark.parametrize("path", python_files("moderation"), ids=lambda p: p.name)
def test_the_domain_reads_no_clock_and_draws_no_random(path: Path) -> None:
    source = path.read_text()
    for call in ("time.time", "datetime.now", "datetime.utcnow", "date.today", "random.", "uuid"):
        assert call not in source, f"{path.name} uses {call}: time and ids are passed in"


def test_only_the_store_talks_to_redis() -> None:
    stores = {ROOT / "server" / "store.py", ROOT / "server" / "staffstore.py"}
    for folder in ("server", "moderation", "recordings", "bench"):
        for path in python_files(folder):
            touches = any(m.split(".")[0] == "redis" for m in imports(path))
            assert touches == (path in stores), path


def test_recordings_do_not_import_the_server() -> None:
    for path in python_files("recordings"):
        assert not any(m.split(".")[0] == "server" for m in imports(path)), path


def test_templates_autoescape_and_never_mark_text_safe() -> None:
    environment = templates().env
    assert environment.autoescape is True
    for template in (ROOT / "frontend" / "templates").glob("*.html"):
        assert not re.search(r"\|\s*safe\b", template.read_text()), template.name


def test_scripts_never_turn_text_into_html() -> None:
    for script in (ROOT / "frontend" / "static").rglob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{script.name} uses {sink}"


def test_pages_load_no_inline_script_or_style() -> None:
    """The CSP allows only 'self': an inline handler or style would be blocked (and is a smell)."""
    for template in (ROOT / "frontend" / "templates").glob("*.html"):
        source = template.read_text()
        assert not re.search(r"\son[a-z]+\s*=", source), template.name
        assert "style=" not in source, template.name
        assert "<style" not in source, template.name
        for tag in re.findall(r"<script[^>]*>", source):
            assert "src=" in tag or 'type="application/json"' in tag, tag
