"""The documentation explains the repository truthfully: links resolve, examples use real sample IDs, the README
stays a front door, and the security cases match the tests that follow them."""

import re
from pathlib import Path

import pytest

from flux_emulator import app as sample

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# Code, tests and tools that may cite a document of docs/.
SOURCES = sorted({*ROOT.glob("*.py"), *(ROOT / "gallery").rglob("*.py"), *(ROOT / "flux_emulator").rglob("*.py"),
                  *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").glob("*.py"), *(ROOT / "scripts").glob("*.py"),
                  *(ROOT / "static").glob("*.js"), *(ROOT / "templates").glob("*.html"), ROOT / "Makefile",
                  ROOT / ".ci" / "run"})
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def prose(path: Path) -> str:
    """A Markdown file without its fenced code blocks."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchors(path: Path) -> set[str]:
    """The heading anchors of a Markdown file, as GitHub makes them."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", prose(path), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file (web addresses left out)."""
    return [target for target in LINK.findall(prose(path)) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_relative_link_points_at_an_existing_file_and_heading(doc):
    for target in links(doc):
        file, _, anchor = target.partition("#")
        linked = (doc.parent / file).resolve() if file else doc
        assert linked.is_file(), f"{doc.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{doc.name} links to {target}: {linked.name} has no such heading"


def test_the_readme_stays_a_front_door():
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_commands = re.findall(r"^make \w+", FENCE.search(text)[0], re.MULTILINE)
    assert first_commands[:2] == ["make run", "make test"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_example_ids_exist_in_the_emulator(doc):
    # Examples must work as written on `make run` with no token: every task ID is one the emulator answers.
    known = {sample.UNKNOWN_ID, *(s.trace_id for s in sample.SAMPLES.values())}
    for found in set(UUID.findall(doc.read_text(encoding="utf-8"))):
        assert found in sample.SAMPLES or found in known, f"{doc.name} uses {found}, which the emulator does not know"


def test_documents_the_code_cites_exist_with_the_sections_named():
    for source in SOURCES:
        text = source.read_text(encoding="utf-8")
        for name in re.findall(r"\bdocs/([\w-]+\.md)", text):
            assert (ROOT / "docs" / name).is_file(), f"{source.relative_to(ROOT)} cites docs/{name}, which is missing"
        for section, name in re.findall(r'"([^"]+)" in docs/([\w-]+\.md)', text):
            headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", prose(ROOT / "docs" / name), re.MULTILINE)
            cited = f"{source.relative_to(ROOT)} cites {section!r} in docs/{name}"
            assert section.lstrip("# ") in headings, f"{cited}: no such heading"


def test_the_security_cases_match_the_tests_that_follow_them():
    text = prose(ROOT / "docs" / "security.md")
    cases = text[text.index("## The cases"):]
    documented = [int(number) for number in re.findall(r"^(\d+)\. ", cases, re.MULTILINE)]
    assert documented == list(range(1, len(documented) + 1)), "the cases are numbered 1, 2, 3 … in order"
    tested = {int(number) for path in (ROOT / "tests" / "security").glob("test_*.py")
              for number in re.findall(r"def test_case_(\d+)_", path.read_text(encoding="utf-8"))}
    assert tested == set(documented), f"cases without a test: {set(documented) - tested}; " \
                                      f"tests without a case: {tested - set(documented)}"
