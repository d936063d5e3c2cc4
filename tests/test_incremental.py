"""Incremental publishing: the post cache and the outputs left as they were.

The one promise that matters: after any change, an incremental publish leaves exactly
the files a clean build in an empty folder would make.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

import press.content
import press.incremental
import press.write
from feeds.model import Parsed, Site
from feeds.posts import parse_source
from press.config import Config, load_config
from press.files import PostChanged
from press.publish import PublishResult, publish
from press.shares import Sharing

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def run(project: Path, force: bool = False) -> PublishResult:
    return publish(load_config(project / "press.toml"), NOW, force=force)


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def clean_build(project: Path, tmp_path: Path) -> dict[str, bytes]:
    fresh = tmp_path / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(project, fresh, ignore=shutil.ignore_patterns("public", "var"))
    run(fresh)
    return tree(fresh / "public")


def post(project: Path, prefix: str) -> Path:
    return next((project / "posts").glob(f"{prefix}*.md"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


CHANGES: list[tuple[str, Callable[[Path], None]]] = [
    ("edit a body", lambda p: edit(post(p, "2022-09-16"), "Samarkand.", "Samarkand!")),
    ("retitle a post", lambda p: edit(post(p, "2022-09-0"), "title: ", "title: Now ")),
    (
        "add a post",
        lambda p: (p / "posts" / "new.md").write_text(
            "---\ntitle: New\ndate: 2022-09-20T09:00:00+01:00\ncategories: [China-Russia, Trade]"
            "\n---\nA new post, in a new category.\n"
        ),
    ),
    ("recategorise", lambda p: edit(p / "posts" / "new.md", "Trade", "Energy")),
    (
        "tag a post",
        lambda p: edit(p / "posts" / "new.md", "\n---\n", "\ntags: [SCO, Arctic]\n---\n"),
    ),
    ("retag a post", lambda p: edit(p / "posts" / "new.md", "Arctic", "Belt and Road")),
    ("remove a post", lambda p: post(p, "2022-09-16").unlink()),
    ("break a post", lambda p: edit(p / "posts" / "new.md", "title: New", "title: [")),
    (
        "change a setting",
        lambda p: (p / "press.toml").write_text(
            (p / "press.toml").read_text() + "\n[pages]\nper_page = 3\n"
        ),
    ),
    (
        "change a template",
        lambda p: edit(p / "templates" / "post.html.j2", "<article", "<article data-x"),
    ),
]


@pytest.mark.parametrize(
    "items", [pytest.param(50, marks=pytest.mark.slow), 3]
)  # 3: the feeds have archive documents
def test_every_incremental_publish_equals_a_clean_build(
    project: Path, tmp_path: Path, items: int
) -> None:
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("items = 50", f"items = {items}", 1))
    run(project)
    for label, change in CHANGES:
        change(project)
        result = run(project)
        assert not result.fast, label
        assert tree(project / "public") == clean_build(project, tmp_path), label
        if label == "retag a post":  # the tags did reach the site
            assert (project / "public/feeds/tag/belt-and-road.atom.xml").is_file()
            assert not (project / "public/tag/arctic").exists()


@pytest.mark.slow
def test_press_run_keeps_its_posts_in_memory_and_equals_a_clean_build(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path] = []
    read = press.incremental.open_cache

    def counting(config: Config) -> press.incremental.PostCache:
        opened.append(config.root)
        return read(config)

    monkeypatch.setattr(press.incremental, "open_cache", counting)
    result = run(project)
    for label, change in CHANGES:
        change(project)
        result = publish(load_config(project / "press.toml"), NOW, cache=result.cache)
        assert not result.fast and result.cache is not None, label
        assert tree(project / "public") == clean_build(project, tmp_path), label
        if label == "retag a post":  # the tags did reach the site
            assert (project / "public/feeds/tag/belt-and-road.atom.xml").is_file()
            assert not (project / "public/tag/arctic").exists()
    assert opened.count(project) == 1  # read from var/ once, then kept


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed (the real parser runs; this only counts)."""
    seen: list[str] = []

    def counting(path: str, data: bytes, site: Site) -> Parsed:
        seen.append(path)
        return parse_source(path, data, site)

    monkeypatch.setattr(press.content, "parse_source", counting)
    return seen


def test_only_changed_posts_are_parsed_again(project: Path, parses: list[str]) -> None:
    run(project)
    assert len(parses) == 10
    parses.clear()
    edit(post(project, "2022-09-16"), "Samarkand.", "Samarkand!")
    result = run(project)
    assert [Path(p).name for p in parses] == [post(project, "2022-09-16").name]
    # Its page, its neighbours' pages, the feeds and archive pages that list it are made
    # again; the other posts' pages are left as they were.
    assert result.report.reused >= 7
    assert "2022/09/16/" in " ".join(result.report.written)
    parses.clear()
    assert not run(project, force=True).fast and len(parses) == 10  # --force: no cache


def test_a_changed_site_setting_parses_everything_again(project: Path, parses: list[str]) -> None:
    run(project)
    parses.clear()
    edit(project / "press.toml", 'url = "https://', 'url = "https://www.')
    run(project)
    assert len(parses) == 10
    atom = (project / "public" / "feeds" / "all.atom.xml").read_text()
    assert "https://www." in atom


def test_an_unreadable_cache_costs_time_not_posts(project: Path, tmp_path: Path) -> None:
    run(project)
    cache = project / "var" / press.incremental.CACHE
    shards = sorted(cache.iterdir())
    assert shards
    shards[0].write_bytes(b"not a pickle")
    shards[1].write_bytes(shards[1].read_bytes()[:20])
    shards[2].unlink()
    edit(post(project, "2022-09-16"), "Samarkand.", "Samarkand!")
    result = run(project)
    assert result.published == 10 and not result.loaded.problems
    assert tree(project / "public") == clean_build(project, tmp_path)
    assert len(list(cache.iterdir())) == press.incremental.SHARDS  # written whole again


def test_the_cache_keeps_no_markdown_and_reads_it_back(project: Path) -> None:
    path = post(project, "2022-09-16")
    path.write_text(path.read_text() + "\nA last paragraph that only the body has.\n")
    run(project)
    stored = b"".join(p.read_bytes() for p in (project / "var" / press.incremental.CACHE).iterdir())
    assert b"Samarkand" in stored  # in the summary, made from the first paragraph
    assert b"only the body has" not in stored
    config = load_config(project / "press.toml")
    loaded = press.content.load_posts(config, press.incremental.open_cache(config))
    cached = next(p for p in loaded.posts if p.source == path.relative_to(project).as_posix())
    assert isinstance(cached.body, press.content.FileBody)  # a source, not the text
    assert cached.body.text is None  # not read yet
    assert "<p>A last paragraph that only the body has.</p>" in cached.html


def test_a_project_moved_elsewhere_reads_its_posts_there(project: Path) -> None:
    run(project)
    moved = project.parent / f"{project.name}-moved"
    shutil.copytree(project, moved, copy_function=shutil.copy2)  # times kept: cache good
    shutil.rmtree(project / "posts")  # nothing left to read at the old place
    edit(post(moved, "2022-09-16"), "Samarkand.", "Samarkand!")  # feeds made again
    result = run(moved)
    assert result.published == 10 and not result.loaded.problems
    assert tree(moved / "public") == clean_build(moved, project.parent / f"{project.name}-clean")


def test_a_post_changed_during_a_publish_stops_it_by_name(project: Path) -> None:
    run(project)
    config = load_config(project / "press.toml")
    loaded = press.content.load_posts(config, press.incremental.open_cache(config))
    first, second = loaded.posts[:2]
    edit(project / first.source, "title: ", "title: Now ")
    (project / second.source).unlink()
    with pytest.raises(PostChanged, match=f"{first.source}: changed during"):
        assert first.html
    with pytest.raises(PostChanged, match=f"{second.source}: cannot be read"):
        assert second.html


def test_a_file_changed_in_public_is_made_again(project: Path) -> None:
    first = run(project)
    assert "feeds/all.atom.xml" in first.report.written
    page = project / "public" / "feeds" / "all.atom.xml"
    original = page.read_bytes()
    page.write_bytes(b"edited by hand")
    result = run(project)
    assert page.read_bytes() == original
    assert page.relative_to(project / "public").as_posix() in result.report.written


@pytest.mark.parametrize("fork", [True, False])  # press publish; press run (threads)
def test_parsing_in_several_processes_gives_the_same_site(
    project: Path, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    (project / "posts" / "bad.md").write_text("---\ntitle: [\n---\n")
    serial = run(project)
    expected = tree(project / "public")
    shutil.rmtree(project / "public")
    shutil.rmtree(project / "var")
    # Whatever threads earlier tests left, fork or not as asked.
    sharing = Sharing(processes=2, parse_from=2, spawn_from=2, make_from=2, may_fork=lambda: fork)
    parallel = publish(load_config(project / "press.toml"), NOW, sharing=sharing)
    assert tree(project / "public") == expected
    assert parallel.loaded.problems == serial.loaded.problems
    assert [p.path for p in serial.loaded.errors] == ["posts/bad.md"]
    assert [p.source for p in parallel.loaded.posts] == [p.source for p in serial.loaded.posts]


def test_processes_that_cannot_start_fall_back_to_parsing_here(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    expected = run(project)
    shutil.rmtree(project / "var")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("no processes here")

    sharing = Sharing(processes=2, parse_from=2, spawn_from=2, context=broken)
    result = publish(load_config(project / "press.toml"), NOW, sharing=sharing)
    assert result.published == expected.published == 10
    assert "parsing in 2 processes failed" in caplog.text


def test_a_cache_that_cannot_be_written_is_only_slower(
    project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (project / "var").mkdir()
    (project / "var" / press.incremental.CACHE).write_text("a file where the folder should be")
    result = run(project)
    assert result.published == 10 and "the post cache was not saved" in caplog.text
    edit(post(project, "2022-09-16"), "Samarkand.", "Samarkand!")
    run(project)
    assert tree(project / "public") == clean_build(project, tmp_path)
