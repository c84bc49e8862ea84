"""Every relative link in README.md and docs/ leads to a file of the repository, and every `#anchor`
to a heading of the page it names. Pure Python: `.venv/bin/python -m pytest tests/test_docs_links.py -p no:ape_test`."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())
    # A link's text may be a code span (`[`SmartMeter`](metering.md)`); a code span alone is no link.
    return [m.group(1) for m in LINK.finditer(text)]


def anchors(page: Path) -> set[str]:
    """The anchors a Markdown renderer gives the page's headings: lower case, punctuation dropped,
    spaces as hyphens; a repeated heading gets -1, -2, …"""
    text = FENCE.sub("", page.read_text())
    seen: dict[str, int] = {}
    result = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", CODE_SPAN.sub(lambda m: m.group(0)[1:-1], heading).lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def test_there_are_pages_and_links():
    assert len(PAGES) > 10
    assert sum(len(links(page)) for page in PAGES) > 40


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for target in links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_every_docs_page_is_linked_from_the_readme():
    readme_links = {target.partition("#")[0] for target in links(ROOT / "README.md")}
    unlinked = [page.name for page in PAGES[1:] if f"docs/{page.name}" not in readme_links]
    assert unlinked == []
