"""The README stays true: every setting is documented, the CLI's commands are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from press.settings import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_every_setting_is_documented(name: str) -> None:
    assert f"| `{name}` |" in README


def test_the_two_commands_are_given() -> None:
    assert "make run" in README and "make test" in README
