"""The press command, run as users run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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
    assert lines[2] == "11 posts loaded (0 drafts, 0 scheduled), 1 skipped, 1 warning"
    # After a publish, check reads the post cache: the same problems, from the cache.
    assert run(project, "publish").returncode == 0
    assert any((project / "var" / "posts-cache").iterdir())
    cached = run(project, "check")
    assert cached.returncode == 1 and cached.stdout == result.stdout


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
        toml.write("\n[storag]\nurl = 'sqlite://'\n")
    result = run(project, "check")
    assert result.returncode == 1
    assert "unknown section [storag]; did you mean storage?" in result.stderr


def test_help_and_version() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "check" in result.output and "--config" in result.output
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("press, version ")


def test_publish_then_nothing_changed(project: Path) -> None:
    first = run(project, "publish")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("published 10 posts: ")  # a summary, not 70 lines
    (project / "posts" / "new.md").write_text(
        "---\ntitle: New\ndate: 2022-09-20\ncategories: [China-Russia]\n---\nNew.\n"
    )
    verbose = run(project, "publish", "--verbose")
    assert "wrote   feeds/all.atom.xml" in verbose.stdout
    assert verbose.stdout.splitlines()[-1].startswith("published 11 posts: ")
    second = run(project, "publish")
    assert second.returncode == 0
    assert second.stdout.startswith("nothing changed: ")


def test_a_site_without_a_newsletter_archive(project: Path) -> None:
    import email
    import email.policy

    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("[newsletter]\n", "[newsletter]\narchive = false\n"))
    assert run(project, "publish").returncode == 0
    assert (project / "public" / "feeds" / "all.atom.xml").is_file()
    assert not (project / "public" / "newsletter").exists()
    result = run(project, "digest", "--week", "2022-W37", "--preview", "out/")
    assert result.returncode == 0, result.stderr
    assert "public/newsletter" not in result.stdout
    assert not (project / "public" / "newsletter").exists()
    parsed = email.message_from_bytes(
        (project / "out" / "digest.eml").read_bytes(), policy=email.policy.default
    )
    text, html = (part.get_content() for part in parsed.iter_parts())
    for part in (text, html):
        assert "View in your browser" not in part and "/newsletter/" not in part
        assert "Manage preferences" in part and "Unsubscribe" in part


def test_digest_preview(project: Path) -> None:
    import email
    import email.policy

    result = run(project, "digest", "--week", "2022-W37", "--preview", "out/")
    assert result.returncode == 0, result.stderr
    assert "wrote out/digest.html" in result.stdout
    assert "wrote out/digest.txt" in result.stdout
    assert "wrote out/digest.eml" in result.stdout
    assert "wrote public/newsletter/2022-W37-china-russia.html" in result.stdout
    assert "PRESS_SECRET_KEY is not set" in result.stderr
    parsed = email.message_from_bytes(
        (project / "out" / "digest.eml").read_bytes(), policy=email.policy.default
    )
    text, html = (part.get_content() for part in parsed.iter_parts())
    for title in (
        "China Is Becoming The Big Brother In Its Friendship With Russia",
        "Russia’s Fulsomeness Discomforts Its Firm Friend China",
    ):
        assert title in text and title in html


def test_digest_of_an_empty_week(project: Path) -> None:
    result = run(project, "digest", "--week", "2022-W38", "--preview", "out/")
    assert result.returncode == 0
    assert result.stdout.strip() == "no China-Russia posts in 2022-W38; nothing to send"
    assert not (project / "out").exists() and not (project / "public").exists()


def test_digest_refuses_a_bad_week(project: Path) -> None:
    result = run(project, "digest", "--week", "2022-W99")
    assert result.returncode == 2
    assert "2022 has no week 99" in result.stderr


@pytest.mark.slow
def test_digest_outbox_and_category(project: Path) -> None:
    empty = run(project, "digest", "--week", "latest", "--category", "Trade", "--outbox", "box")
    assert "no confirmed subscribers of Trade; outbox empty" in empty.stdout
    added = run(
        project, "subscribers", "add", "Trader@Example.com", "--category", "Trade", "--confirmed"
    )
    assert added.stdout.strip() == "trader@example.com: confirmed"
    run(project, "subscribers", "add", "other@example.com", "--confirmed")  # China-Russia only
    result = run(project, "digest", "--week", "latest", "--category", "Trade", "--outbox", "box")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (project / "box").iterdir()] == [
        "2022-W15-trade-trader@example.com.eml"
    ]


@pytest.mark.slow
def test_subscribers_commands(project: Path) -> None:
    added = run(project, "subscribers", "add", "new@example.com")
    assert added.returncode == 0, added.stderr
    assert "new@example.com: pending" in added.stdout
    confirmation = project / "var" / "outbox" / "confirm-new@example.com.eml"
    assert confirmation.is_file() and b"/confirm/" in confirmation.read_bytes()
    assert run(project, "subscribers", "add", "not-an-address").returncode == 2
    assert run(project, "subscribers", "confirm", "NEW@example.com").stdout.strip() == (
        "new@example.com: confirmed"
    )
    listed = run(project, "subscribers", "list", "--status", "confirmed")
    assert listed.stdout.startswith("new@example.com\tconfirmed\tchina-russia\t")
    assert run(project, "subscribers", "remove", "new@example.com").returncode == 0
    again = run(project, "subscribers", "add", "new@example.com", "--confirmed")
    assert again.returncode == 1 and "is unsubscribed: not added" in again.stderr
    assert run(project, "subscribers", "confirm", "nobody@example.com").returncode == 1
    (project / "list.csv").write_text("email,categories\na@example.com,Trade\nbroken,\n")
    imported = run(project, "subscribers", "import", "list.csv")
    assert imported.returncode == 1
    assert "list.csv:3: email 'broken'" in imported.stderr
    assert "imported 1, skipped 0, 1 bad row" in imported.stdout
    assert "1 bad rows" not in imported.stdout
    exported = run(project, "subscribers", "export", "-")
    lines = exported.stdout.splitlines()
    assert lines[0].startswith("email,status,newsletters")  # "categories" imports too
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["new@example.com", "unsubscribed", "china-russia"],
        ["a@example.com", "confirmed", "trade"],
    ]


@pytest.mark.slow
def test_a_mistyped_category_is_named_with_the_nearest_one(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(
        toml.read_text().replace('category = "China-Russia"', 'category = "China-Rusia"')
    )
    checked = run(project, "check")
    assert checked.returncode == 0
    assert (
        "press.toml: newsletter.category: no post is filed under 'China-Rusia'; "
        "did you mean China-Russia?" in checked.stdout
    )
    digest = run(project, "digest", "--week", "2022-W37", "--preview", "out/")
    assert "China-Rusia: no post is filed under 'China-Rusia'; did you mean" in digest.stderr
    refused = run(project, "subscribers", "add", "a@example.com", "--category", "Nonsense")
    assert refused.returncode == 2
    assert "no post is filed under 'Nonsense' (known: Agriculture, China-Australia" in (
        refused.stderr
    )
    assert "--new-category takes it anyway" in refused.stderr
    taken = run(
        project, "subscribers", "add", "a@example.com", "--category", "Nonsense", "--new-category"
    )
    assert taken.returncode == 0, taken.stderr


def test_posts_that_failed_are_counted_again_when_nothing_changed(project: Path) -> None:
    (project / "posts" / "broken.md").write_text("---\ntitle: [unclosed\n---\nText.\n")
    first = run(project, "publish")
    assert first.returncode == 0
    assert "published 10 posts, 1 post skipped (press check lists why)" in first.stdout
    again = run(project, "publish")
    assert again.stdout.startswith("nothing changed: ")
    assert "(10 posts, 1 post skipped (press check lists why);" in again.stdout


def test_a_big_post_is_a_warning_and_its_feed_stays_small(project: Path) -> None:
    body = "A long paragraph of commentary. " * 20_000  # 640,000 bytes
    (project / "posts" / "big.md").write_text(
        f"---\ntitle: Big\ndate: 2022-09-17T09:00:00+01:00\ncategories: [China-Russia]\n---\n{body}"
    )
    checked = run(project, "check")
    assert checked.returncode == 0
    assert "posts/big.md: warning: the file is 625 KB, over posts.max_kb (512 KB)" in (
        checked.stdout
    )
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("items = 50", "items = 50\nmax_kb = 300"))
    assert run(project, "publish").returncode == 0
    feed = (project / "public" / "feeds" / "all.atom.xml").read_bytes()
    assert len(feed) < 300 * 1024 and b"<title>Big</title>" in feed
