"""The press command, run as users run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from press.cli import main


def run(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    press = Path(sys.executable).parent / "press"
    return subprocess.run(
        [str(press), *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_check_on_the_bundled_posts(project: Path) -> None:
    result = run(project, "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10 posts loaded (0 drafts, 0 scheduled), 0 skipped, 0 warnings"


def test_check_lists_problems_by_file_and_line(project: Path) -> None:
    (project / "posts" / "broken.md").write_text(
        "---\ntitle: X\ndate: soon\ncategories: [A]\n---\n"
    )
    (project / "posts" / "odd.md").write_text(
        "---\ntitle: Odd\ndate: 2022-01-01\ncategories: [A]\ncolour: red\n---\nText.\n"
    )
    result = run(project, "check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "posts/broken.md:3: date: not a date: 'soon'" in lines[0]
    assert lines[1] == "posts/odd.md:5: warning: unknown front-matter key 'colour' ignored"
    assert lines[2] == "11 posts loaded (0 drafts, 0 scheduled), 1 skipped, 1 warnings"


def test_config_chosen_by_option_and_environment(project: Path, tmp_path: Path) -> None:
    elsewhere = project / "site"
    elsewhere.mkdir()
    (project / "press.toml").rename(elsewhere / "press.toml")
    (project / "posts").rename(elsewhere / "posts")
    assert "press.toml: not found" in run(project, "check").stderr
    assert run(project, "--config", "site/press.toml", "check").returncode == 0
    assert run(project, "check", env={"PRESS_CONFIG": "site/press.toml"}).returncode == 0


def test_a_wrong_setting_stops_with_its_name(project: Path) -> None:
    with (project / "press.toml").open("a") as toml:
        toml.write("\n[storage]\nurl = 'sqlite://'\n")
    result = run(project, "check")
    assert result.returncode == 1
    assert "unknown section [storage]" in result.stderr


def test_help_and_version() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "check" in result.output and "--config" in result.output
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("press, version ")
