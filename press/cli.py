"""The ``press`` command: parses options, calls the library, reports."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from feeds.posts import Loaded
from newsletter.digest import WeekError
from newsletter.render import week_dates
from press.config import DEFAULT_PATH, Config, ConfigError, load_config
from press.content import load_posts
from press.digest import (
    SAMPLE_RECIPIENT,
    SECRET_VARIABLE,
    prepare,
    signer_from,
    write_outbox,
    write_preview,
    write_web_copy,
)
from press.lock import LockTimeout
from press.publish import publish as publish_run


def _now() -> datetime:
    return datetime.now(UTC)


class Context:
    """What every command shares: where press.toml is, loaded on first use."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as error:
                raise click.ClickException(str(error)) from None
        return self._config


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bystander-press", prog_name="press")
@click.option(
    "--config",
    "-c",
    "config_path",
    envvar="PRESS_CONFIG",
    default=DEFAULT_PATH,
    show_default=True,
    show_envvar=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The settings file; paths in it are relative to it.",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path) -> None:
    """Publish a commentary blog: feeds, pages and a weekly email digest."""
    ctx.obj = Context(config_path)


def report(loaded: Loaded, now: datetime) -> None:
    """Print each problem as ``path:line: message``, then a one-line summary."""
    for problem in loaded.problems:
        click.echo(str(problem))
    drafts = sum(1 for p in loaded.posts if p.draft)
    scheduled = sum(1 for p in loaded.posts if not p.draft and p.date > now)
    click.echo(
        f"{len(loaded.posts)} posts loaded ({drafts} drafts, {scheduled} scheduled), "
        f"{len(loaded.failed)} skipped, {len(loaded.warnings)} warnings"
    )


@main.command()
@pass_context
def check(obj: Context) -> None:
    """Validate press.toml and every post; list problems by file and line."""
    loaded = load_posts(obj.config)
    report(loaded, _now())
    if loaded.errors:
        sys.exit(1)


@main.command()
@pass_context
def publish(obj: Context) -> None:
    """Write every feed, page and index (only files whose content changed)."""

    def waiting(holder: str) -> None:
        click.echo(f"another publish run is going ({holder}); waiting for it", err=True)

    try:
        result = publish_run(obj.config, _now(), on_wait=waiting)
    except LockTimeout as error:
        raise click.ClickException(f"gave up waiting: {error}") from None
    for problem in result.loaded.problems:
        click.echo(str(problem), err=True)
    report = result.report
    for name in report.written:
        click.echo(f"wrote   {name}")
    for name in report.removed:
        click.echo(f"removed {name}")
    for url in result.announce_failed:
        click.echo(f"WebSub hub unreachable for {url}; will retry on the next publish", err=True)
    total = len(report.written) + len(report.unchanged)
    skipped = f", {len(result.loaded.failed)} posts skipped" if result.loaded.failed else ""
    if report.written or report.removed:
        click.echo(
            f"published {result.published} posts{skipped}: {len(report.written)} files written, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed"
        )
    else:
        click.echo(f"nothing changed: {total} files unchanged ({result.published} posts{skipped})")


@main.command()
@click.option("--week", metavar="2022-W37|latest", help="The ISO week; default: last full week.")
@click.option("--category", metavar="NAME", help="Another category than newsletter.category.")
@click.option(
    "--preview",
    "preview_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write digest.html, digest.txt and digest.eml for a sample recipient.",
)
@click.option(
    "--outbox",
    "outbox_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one .eml file per recipient instead of sending.",
)
@pass_context
def digest(
    obj: Context,
    week: str | None,
    category: str | None,
    preview_dir: Path | None,
    outbox_dir: Path | None,
) -> None:
    """Build the weekly digest of one category; preview it or write the outbox."""
    if preview_dir and outbox_dir:
        raise click.UsageError("choose one of --preview and --outbox")
    config = obj.config
    try:
        run, _ = prepare(config, week, category, _now())
    except WeekError as error:
        raise click.BadParameter(str(error), param_hint="--week") from None
    found = run.digest
    if not found.posts:
        click.echo(f"no {found.category.name} posts in {found.week}; nothing to send")
        return
    click.echo(
        f"{found.category.name} digest {found.week} ({week_dates(found)}): {len(found.posts)} posts"
    )
    click.echo(f"subject: {run.rendered.subject}")
    signer = signer_from(os.environ)
    if signer.is_development and (preview_dir or outbox_dir):
        click.echo(
            f"{SECRET_VARIABLE} is not set: links are signed with the development key "
            "(fine for previews, never for real subscribers)",
            err=True,
        )
    paths: list[Path] = []
    if preview_dir:
        paths += write_preview(run, preview_dir, signer)
    if outbox_dir:
        paths += write_outbox(run, outbox_dir, signer, [SAMPLE_RECIPIENT])
    paths.append(write_web_copy(run))
    for path in paths:
        click.echo(f"wrote {_shown(path)}")


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
