"""The README and docs/settings.md document what the tap really offers; these tests fail when they drift apart.

- docs/settings.md holds `tap-calls --about --format=markdown` between the about markers (paste the command's
  output there to refresh it);
- README.md's settings table, between the settings markers, is `.venv/bin/python scripts/settings_table.py`;
- README.md is one screen: at most 150 lines, and every docs/ page is linked from it;
- meltano.yml describes each setting in the tap's own words.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SETTINGS_PAGE = REPO / "docs" / "settings.md"
START, END = "<!-- about:start -->", "<!-- about:end -->"
TABLE_START, TABLE_END = "<!-- settings:start -->", "<!-- settings:end -->"


def live_about() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "tap_calls", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_CALLS_")},
    )
    return proc.stdout


def readme_block() -> str:
    text = SETTINGS_PAGE.read_text(encoding="utf-8")
    if START not in text or END not in text:
        pytest.fail(
            f"docs/settings.md has no `{START}` ... `{END}` block: put the output of "
            "`tap-calls --about --format=markdown` between those markers",
            pytrace=False,
        )
    return text.split(START, 1)[1].split(END, 1)[0]


def normalized(text: str) -> list[str]:
    """Lines without trailing blanks; surrounding blank lines and a ``` fence, if the README uses one, dropped."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if lines and lines[0].startswith("```") and lines[-1] == "```":
        lines = lines[1:-1]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def section(lines: list[str], title: str) -> list[str]:
    """The lines of a `## title` section, heading excluded."""
    try:
        i = lines.index(f"## {title}")
    except ValueError:
        return []
    j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
    return [line for line in lines[i + 1 : j] if line]


def diff(readme: list[str], live: list[str]) -> str:
    return "\n".join(
        difflib.unified_diff(
            readme, live, "docs/settings.md", "tap-calls --about --format=markdown", lineterm=""
        )
    )


def test_readme_settings_table_is_the_about_output() -> None:
    live, readme = normalized(live_about()), normalized(readme_block())
    live_settings = section(live, "Settings")
    assert live_settings, "`--about --format=markdown` printed no ## Settings section"
    readme_settings = section(readme, "Settings")
    assert readme_settings == live_settings, "docs/settings.md settings table drifted:\n" + diff(
        readme_settings, live_settings
    )


def test_readme_about_block_is_the_about_output() -> None:
    """Capabilities, Python versions and the rest of the block too."""
    live, readme = normalized(live_about()), normalized(readme_block())
    assert section(live, "Capabilities"), "`--about --format=markdown` printed no ## Capabilities section"
    assert readme == live, "docs/settings.md about block drifted:\n" + diff(readme, live)


def test_readme_settings_table_is_generated_from_about() -> None:
    text = README.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, f"README.md has no {TABLE_START} ... {TABLE_END} block"
    block = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    live = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "settings_table.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_CALLS_")},
    ).stdout.strip()
    assert block == live, "README settings table drifted (run scripts/settings_table.py):\n" + diff(
        block.splitlines(), live.splitlines()
    )


def test_readme_is_one_screen_and_links_every_docs_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150, len(text.splitlines())
    pages = sorted(p.name for p in (REPO / "docs").glob("*.md"))
    assert pages, "no docs/ pages"
    assert [p for p in pages if f"(docs/{p})" not in text] == []
    for page in (REPO / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_meltano_yml_describes_each_tap_setting_as_the_tap_does() -> None:
    """`meltano config tap-calls list` shows meltano.yml's words: they must be the tap's own."""
    proc = subprocess.run(
        [sys.executable, "-m", "tap_calls", "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_CALLS_")},
    )
    tap_settings = json.loads(proc.stdout)["settings"]["properties"]
    project = yaml.safe_load((README.parent / "meltano.yml").read_text(encoding="utf-8"))
    extractor = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-calls")
    declared = {s["name"]: " ".join(s.get("description", "").split()) for s in extractor["settings"]}
    own = {
        name
        for name, prop in tap_settings.items()
        if not name.startswith(("stream_map", "flattening", "batch", "faker"))
    }
    assert len(own) == 25, sorted(own)
    drifted = {
        name: (declared.get(name), tap_settings[name]["description"])
        for name in own
        if declared.get(name) != tap_settings[name]["description"]
    }
    assert not drifted, drifted
