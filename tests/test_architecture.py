"""The shape of the code: imports point inwards, Redis in one module, text never becomes HTML."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from moderation import KINDS, audiences
from moderation.model import (
    HoldReason,
    ItemStatus,
    MeetingStatus,
    ModerationReason,
    RejectReason,
)
from server.fanout.audiences import AUDIENCES
from server.web.templating import templates

DOMAIN_WORDS = (ItemStatus, MeetingStatus, HoldReason, ModerationReason, RejectReason)

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
STDLIB_OK_IN_DOMAIN = {
    "__future__", "collections", "dataclasses", "datetime", "enum", "functools", "itertools",
    "re", "typing", "unicodedata", "urllib", "string", "math", "rapidfuzz", "types", "heapq",
    "bisect", "operator",
    "confusable_homoglyphs",  # Unicode's confusables table as data (moderation/names.py)
    "phonenumbers",  # libphonenumber's metadata as data, like rapidfuzz (moderation/contacts.py)
    "Stemmer",  # Snowball's Russian stemmer, pure computation in C (moderation/morphology.py)
}  # fmt: skip
# What the domain may never reach: the network, files, processes, threads, the clock, chance.
IO_MODULES = {
    "asyncio", "socket", "ssl", "select", "selectors", "os", "io", "pathlib", "shutil",
    "subprocess", "threading", "multiprocessing", "concurrent", "time", "random", "secrets",
    "uuid", "logging", "sqlite3", "http", "urllib.request", "json", "pickle", "tempfile",
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
def test_the_domain_imports_no_io(path: Path) -> None:
    """Only itself, pure parts of the standard library and rapidfuzz: no I/O of any kind."""
    for module in imports(path):
        top = module.split(".")[0]
        assert top == "moderation" or top in STDLIB_OK_IN_DOMAIN, f"{path.name} imports {module}"
        assert not {top, module} & IO_MODULES, f"{path.name}: {module}"


@pytest.mark.parametrize("path", python_files("moderation"), ids=lambda p: p.name)
def test_the_domain_reads_no_clock_and_draws_no_random(path: Path) -> None:
    source = path.read_text()
    for call in ("time.time", "datetime.now", "datetime.utcnow", "date.today", "random.", "uuid"):
        assert call not in source, f"{path.name} uses {call}: time and ids are passed in"


def test_no_module_outside_the_store_imports_redis_or_touches_a_client() -> None:
    store = ROOT / "server" / "store"
    for folder in ("server", "moderation", "recordings", "bench", "tests"):
        for path in python_files(folder):
            if path.is_relative_to(store) or path == Path(__file__):
                continue
            assert not any(m.split(".")[0] == "redis" for m in imports(path)), path
            # The store's client is private to it: no `store._redis`, no `.redis` handed out.
            touched = re.search(r"\._?redis\b|\._readers\b|connection_pool", path.read_text())
            assert touched is None, f"{path.relative_to(ROOT)}: {touched.group()}"


def test_only_the_record_adapter_appends_to_a_stream() -> None:
    record = ROOT / "server" / "store" / "record.py"
    lua = ROOT / "server" / "store" / "lua" / "apply.lua"
    sources = [*python_files("server"), *python_files("bench"), *python_files("tests"),
               *(ROOT / "server").rglob("*.lua")]  # fmt: skip
    appending = {p for p in sources if re.search(r"\bxadd\b", p.read_text(), re.IGNORECASE)}
    assert appending - {Path(__file__)} == {record, lua}


def test_only_the_use_cases_append_to_the_record() -> None:
    """One way in: every comment, question, vote and staff action goes through a use case."""
    usecases = ROOT / "server" / "usecases"
    for folder in ("server", "bench"):
        for path in python_files(folder):
            if not path.is_relative_to(usecases):
                assert "record.append(" not in path.read_text(), path.relative_to(ROOT)


def lua_literals(path: Path) -> set[str]:
    source = re.sub(r"--[^\n]*", "", path.read_text())  # comments may name anything
    return set(re.findall(r"'([^']*)'", source)) | set(re.findall(r'"([^"]*)"', source))


@pytest.mark.parametrize("path", sorted((ROOT / "server").rglob("*.lua")), ids=lambda p: p.name)
def test_no_lua_script_names_an_event_kind_a_status_or_a_reason(path: Path) -> None:
    """Rules live in the domain: a script gets kinds, statuses and reasons as arguments."""
    words = {*KINDS, *(member.value for enum in DOMAIN_WORDS for member in enum)}
    named = lua_literals(path) & words
    assert not named, f"{path.name} names {sorted(named)}"


def test_every_audience_is_registered_in_one_place() -> None:
    registry = ROOT / "server" / "fanout" / "audiences.py"
    for folder in ("server", "tests", "bench"):
        for path in python_files(folder):
            if path != registry:
                assert not re.search(r"\bAudience\(", path.read_text()), path
    projections = {
        name
        for name, function in inspect.getmembers(audiences, inspect.isfunction)
        if function.__module__ == audiences.__name__
        and list(inspect.signature(function).parameters) == ["update"]
    }
    registered = {audience.project.__name__ for audience in AUDIENCES}
    assert projections == registered
    assert len({audience.name for audience in AUDIENCES}) == len(AUDIENCES)


def test_no_private_name_is_imported_from_another_module() -> None:
    for folder in ("server", "moderation", "recordings", "bench", "tests"):
        for path in python_files(folder):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    assert not private, f"{path.relative_to(ROOT)} imports {private}"


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


# The drawing of the tree in the README: folders, what each owns, what each may import

GUARDED = {"redis", "uvicorn", "starlette", "jinja2", "babel", "yt_dlp", "rapidfuzz"}
PROJECT = {"moderation", "recordings", "server", "frontend"}
TREE_LINE = re.compile(r"^(?P<indent> *)(?P<name>[a-z_]+)/ {2,}(?P<owns>\S.*)$")


def drawing() -> dict[str, list[str]]:
    """The README's tree: each folder (as a dotted package) and what it may import."""
    section = README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    folders: dict[str, list[str]] = {}
    parents: list[str] = []
    for line in block.splitlines():
        if (entry := TREE_LINE.match(line)) is not None:
            depth = len(entry["indent"]) // 2
            parents[depth:] = [entry["name"]]
            current = ".".join(parents)
            folders[current] = []
        elif line.strip().startswith("imports:"):
            folders[current] += [i.strip() for i in line.split(":", 1)[1].split(",") if i.strip()]
        else:
            raise AssertionError(f"not a line of the drawing: {line!r}")
    return folders


def folder_of(module: str, folders: dict[str, list[str]]) -> str:
    """The deepest folder of the drawing a module is in."""
    parts = module.split(".")
    while ".".join(parts) not in folders:
        parts.pop()
    return ".".join(parts)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_drawing_of_the_tree_names_every_folder_and_only_those() -> None:
    folders = drawing()
    for name in folders:
        assert (ROOT / name.replace(".", "/")).is_dir(), f"the drawing names {name}/"
    packages = {
        module_name(init.parent / "x").rsplit(".", 1)[0]
        for top in ("server", "moderation", "recordings")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert packages <= folders.keys(), packages - folders.keys()
    for top in ("server",):
        for folder in (ROOT / top).iterdir():
            if folder.is_dir() and folder.name != "__pycache__":
                assert f"{top}.{folder.name}" in folders, f"{folder} is not in the drawing"


@pytest.mark.parametrize(
    "path",
    [p for top in ("server", "moderation", "recordings") for p in python_files(top)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_module_imports_only_what_its_folder_may(path: Path) -> None:
    folders = drawing()
    folder = folder_of(module_name(path), folders)
    allowed = folders[folder]
    for imported in imports(path):
        top = imported.split(".")[0]
        if top not in PROJECT | GUARDED or imported == folder or imported.startswith(folder + "."):
            continue
        assert any(imported == a or imported.startswith(a + ".") for a in allowed), (
            f"{path.relative_to(ROOT)} ({folder}/) imports {imported}; it may import: {allowed}"
        )
