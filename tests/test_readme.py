"""The README stays true: every setting is documented, the CLI's commands are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from press.settings import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_every_setting_is_documented(name: str) -> None:
    assert f"| `{name}` |" in README


def test_every_setting_is_a_row_of_the_rendered_configuration_table() -> None:
    """Rendered as GitHub renders it (with the project's Markdown library): a blank line
    inside the table would turn the rows after it into a paragraph of pipes."""
    import re

    import pyromark

    html = pyromark.html(README, options=pyromark.Options.ENABLE_TABLES)
    section = html.split("Configuration: press.toml", 1)[1].split("<h2>", 1)[0]
    tables = re.findall(r"<table>.*?</table>", section, re.DOTALL)
    assert len(tables) == 1, "the settings are one table"
    rows = re.findall(r"<tr>\s*<td><code>([a-z_.]+)</code></td>", tables[0])
    assert rows == [s.name for s in SETTINGS]


def test_the_two_commands_are_given() -> None:
    assert "make run" in README and "make test" in README


def test_every_newsletter_key_is_documented() -> None:
    from press.newsletters import KEYS

    assert [k for k in KEYS if f"| `newsletters.<id>.{k}` |" not in README] == []
