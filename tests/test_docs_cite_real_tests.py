"""The threat model and the README cite tests by name: each cited test must exist.

A document that names a test which was renamed or deleted tells a reviewer a control is
tested when nothing tests it; this keeps the citations honest.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CITED_TEST = re.compile(r"`(test_[a-z0-9_]+)`")
CITED_FILE = re.compile(r"`(tests/[\w/]+\.py)`")
DOCUMENTS = ["docs/threat-model.md", "README.md"]


@cache
def defined_test_names() -> frozenset[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return frozenset(names)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_test_a_document_cites_exists(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = sorted(set(CITED_TEST.findall(text)) - defined_test_names())
    assert missing == [], f"{document} cites tests that do not exist: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_test_file_a_document_cites_exists(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = sorted(
        name
        for name in set(CITED_FILE.findall(text))
        if "*" not in name and not (ROOT / name).exists()
    )
    assert missing == [], f"{document} cites test files that do not exist: {missing}"


def test_the_citation_check_finds_a_cited_test_that_does_not_exist() -> None:
    assert "test_no_such_test_anywhere" not in defined_test_names()
    assert CITED_TEST.findall("see `test_no_such_test_anywhere`") == ["test_no_such_test_anywhere"]
