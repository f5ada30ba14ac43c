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
