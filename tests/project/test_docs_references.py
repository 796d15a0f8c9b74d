"""Every test the docs cite exists: a moved or renamed test must take its references along."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("docs/reliability.md", "README.md")
# `tests/x/test_y.py`, `test_y.py::name`, or `::name`: a test of the file the document named last
# (a table row may continue a file named rows before; failing that, any test file will do).
REFERENCE = re.compile(r"`((?:tests/[\w/]+/)?test_\w+\.py)?(?:::(test_\w+))?(?:\[[^\]`]*\])?`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@functools.cache
def _every_test_name() -> frozenset[str]:
    return frozenset(
        name for path in (ROOT / "tests").rglob("test_*.py") for name in _test_names(path)
    )


def _find(file: str) -> list[Path]:
    if "/" in file:
        return [ROOT / file] if (ROOT / file).is_file() else []
    return sorted((ROOT / "tests").rglob(file))


def _unresolved(doc: str, text: str) -> list[str]:
    problems: list[str] = []
    last: list[Path] = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in REFERENCE.finditer(line):
            file, name = match.group(1), match.group(2)
            if file is None and name is None:
                continue
            if file is not None:
                last = _find(file)
                if not last:
                    problems.append(f"{doc}:{number}: no file {file}")
                    continue
            if name is not None:
                if not last:
                    problems.append(f"{doc}:{number}: ::{name} follows no test file")
                elif not any(name in _test_names(path) for path in last) and (
                    match.group(1) is not None or name not in _every_test_name()
                ):
                    problems.append(f"{doc}:{number}: {name} is not in {last[0].name}")
    return problems


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.slow
def test_every_cited_test_file_and_test_exists(doc: str) -> None:
    assert _unresolved(doc, (ROOT / doc).read_text(encoding="utf-8")) == []


def test_a_missing_file_or_test_is_named() -> None:
    """The check can fail: each kind of dangling reference is reported, and nothing else."""
    text = "\n".join(
        (
            "| `tests/project/test_docs_references.py::test_a_missing_file_or_test_is_named` |",
            "| `::test_every_cited_test_file_and_test_exists[README.md]` |",
            "| `::test_gone` | `tests/project/test_gone.py` | `test_nowhere.py` |",
        )
    )
    assert _unresolved("doc", text) == [
        "doc:3: test_gone is not in test_docs_references.py",
        "doc:3: no file tests/project/test_gone.py",
        "doc:3: no file test_nowhere.py",
    ]
