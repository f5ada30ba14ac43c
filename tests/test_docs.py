"""The project's own docs stand alone: no path outside the repository, links that resolve, and the
CLI contract in docs/cli.md lists every command and flag the real parser has."""

from __future__ import annotations

import re

import pytest

from analysis.paths import PROJECT_ROOT

DOCS = [
    "README.md",
    "data/README.md",
    "scenarios/README.md",
    "sweeps/README.md",
    *sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "docs").glob("*.md")),
]
#: Files a user's clone must read without the developers' workplace: docs, the package, notebooks,
#: tests.
CODE = [
    p
    for pattern in ("analysis/**/*.py", "notebooks/*.py", "tests/*.py")
    for p in sorted(PROJECT_ROOT.glob(pattern))
]
OUTSIDE = re.compile(r"\.\./shared|/work/|(?<![\w.])/home/|/Users/")


@pytest.mark.parametrize("name", DOCS + [str(p.relative_to(PROJECT_ROOT)) for p in CODE])
def test_no_path_outside_the_repository(name):
    path = PROJECT_ROOT / name
    if not path.exists():
        pytest.fail(f"{name} is listed but missing")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if path.name == "test_docs.py" and "OUTSIDE = re.compile" in line:
            continue
        assert not OUTSIDE.search(line), (
            f"{name}:{number} points outside the repository: {line.strip()}"
        )


def test_the_design_is_cited_where_it_lives():
    """Comments and docstrings cite the design as docs/architecture.md, which is in the repository,
    never as a DESIGN.md that is not."""
    files = [PROJECT_ROOT / name for name in DOCS] + CODE + sorted(PROJECT_ROOT.glob("scripts/*"))
    citing = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "DESIGN" in line and path.name != "test_docs.py"
    ]
    assert citing == [], f"cite docs/architecture.md instead: {citing}"


@pytest.mark.parametrize("name", DOCS)
def test_relative_links_resolve(name):
    path = PROJECT_ROOT / name
    for target in re.findall(r"\]\(([^)#\s]+)\)", path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{name}: link {target} does not exist"


def test_cli_doc_lists_every_command_and_flag():
    import argparse

    text = (PROJECT_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    from analysis.runs.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert commands.choices, "no subcommands"
    for name, sub in commands.choices.items():
        assert f"### {name}" in text, f"docs/cli.md has no section for `{name}`"
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in text, f"docs/cli.md does not mention {name} {flag}"


def test_cli_doc_lists_every_accelerator_id():
    import csv

    text = (PROJECT_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    with open(PROJECT_ROOT / "data" / "accelerators.csv", newline="") as handle:
        ids = [row["id"] for row in csv.DictReader(handle)]
    section = text.split("## Accelerator ids", 1)[1].split("\n## ", 1)[0]
    listed = max(section.split("`")[1::2], key=len).split()
    assert sorted(listed) == sorted(ids)


# ---- the README is a map -------------------------------------------------------------------------

README = PROJECT_ROOT / "README.md"
#: The README's sections, in order: what it answers (the title), the two commands, the headline
#: results, the map, then links.
README_SECTIONS = ["Two commands", "What the shipped data says", "Map", "More"]
#: About 150 lines: the README is the map; method, performance and limits live in docs/.
README_MAX_LINES = 170


def _section(text: str, title: str) -> str:
    return text.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def test_the_readme_is_a_short_map_with_its_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES, "move detail into docs/ and link it"
    titles = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert [t for t in titles if any(t.startswith(s) for s in README_SECTIONS)] == titles
    assert [next(s for s in README_SECTIONS if t.startswith(s)) for t in titles] == README_SECTIONS
    commands = _section(text, "Two commands")
    assert "make run" in commands and "make test" in commands


def test_the_readme_links_every_docs_page():
    text = README.read_text(encoding="utf-8")
    for page in sorted((PROJECT_ROOT / "docs").glob("*.md")):
        assert f"](docs/{page.name}" in text, f"README.md does not link docs/{page.name}"


def _map_blocks() -> dict[str, str]:
    """The README map's code block, cut into its wing and base entries: name -> their lines."""
    block = _section(README.read_text(encoding="utf-8"), "Map").split("```")[1]
    blocks: dict[str, list[str]] = {}
    current = None
    for line in block.splitlines():
        entry = re.match(r"^  (\w+)/?\s", line)
        if entry:
            current = entry.group(1)
        elif not line.startswith("   "):
            current = None
        if current:
            blocks.setdefault(current, []).append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def test_the_readme_map_names_every_module_in_its_wing():
    from analysis.paths import PACKAGE_DIR

    blocks = _map_blocks()
    missing = []
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.suffix not in (".py", ".c") or path.stem in ("__init__", "__main__"):
            continue
        parts = path.relative_to(PACKAGE_DIR).parts
        wing = parts[0] if len(parts) > 1 else "base"
        name = path.name if path.suffix == ".c" else path.stem
        if not re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", blocks.get(wing, "")):
            missing.append("/".join(parts))
    assert missing == [], f"README.md's map does not name these in their wing: {missing}"


def _modules_called(notebook) -> set[str]:
    """The analysis modules a notebook imports or calls, as `wing.module`."""
    import ast

    import analysis

    def home(name: str) -> str | None:
        target = analysis._EXPORTS.get(name) or analysis._MODULES.get(name)
        return target.partition(":")[0].lstrip(".") if target else None

    found: set[str | None] = set()
    for node in ast.walk(ast.parse(notebook.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "analysis":
            found |= {home(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("analysis."):
            found.add(node.module.removeprefix("analysis."))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "analysis"
        ):
            found.add(home(node.attr))
    return {m for m in found if m and m.count(".") == 1}


def test_the_readme_table_names_the_modules_each_notebook_calls():
    rows = {
        cells[1].strip("` "): cells[3]
        for cells in (line.split("|") for line in _section(README.read_text(), "Map").splitlines())
        if len(cells) > 4 and cells[1].strip().startswith("`")
    }
    notebooks = sorted((PROJECT_ROOT / "notebooks").glob("[0-9]*.py"))
    assert sorted(rows) == [p.stem for p in notebooks]
    for notebook in notebooks:
        named = set(re.findall(r"`([\w.]+)`", rows[notebook.stem]))
        assert named == _modules_called(notebook), notebook.stem


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("name", DOCS)
def test_links_to_headings_resolve(name):
    path = PROJECT_ROOT / name
    for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", path.read_text("utf-8")):
        if "://" in target:
            continue
        page = (path.parent / target) if target else path
        headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.M)
        assert anchor in {_slug(h) for h in headings}, f"{name}: no heading for {target}#{anchor}"
