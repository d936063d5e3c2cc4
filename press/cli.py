"""The ``press`` command: parses options, calls the library, reports."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from feeds.counts import counted
from newsletter.statuses import LEFT, STATUSES
from press.clock import utc_now
from press.config import DEFAULT_PATH, Config, ConfigError, load_config

UNAVAILABLE = 75  # sysexits' EX_TEMPFAIL: the SMTP server took nothing; try again later

if TYPE_CHECKING:
    from feeds.model import Loaded
    from newsletter.deliver import DeliveryReport


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


class PressGroup(click.Group):
    """Every command: a file that cannot be written is one line naming it, exit 1; the
    command list shows each command's first sentence whole (wrapped, never cut with …)."""

    group_class = type  # press subscribers, press new, press import: the same

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from press.write import WriteFailed

        try:
            return super().invoke(ctx)
        except WriteFailed as error:
            raise click.ClickException(str(error)) from None


@click.group(
    cls=PressGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Start here:
  press new site my-blog       # a blog of your own (or use this folder's press.toml)
  press publish                # write the feeds and pages into public/
  press serve --watch          # look at it on http://localhost:8000/
  press COMMAND --help         # what each command needs, with examples
""",
)
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
        f"{counted(len(loaded.posts), 'post')} loaded ({counted(drafts, 'draft')}, "
        f"{scheduled:,} scheduled), {len(loaded.failed):,} skipped, "
        f"{counted(len(loaded.warnings), 'warning')}"
    )


@main.command(epilog="Example:\n\n  press check && press publish")
@pass_context
def check(obj: Context) -> None:
    """Validate press.toml and every post; list problems by file and line.

    Reads the posts as press publish would, writes nothing, and exits 1 when a post
    cannot be published (a warning alone exits 0).
    """
    # The last publish's post cache, read only: files unchanged since are not parsed again.
    from newsletter.digest import unknown_category
    from press.content import load_posts
    from press.incremental import open_cache
    from press.shares import one_a_core

    config = obj.config
    loaded = load_posts(config, open_cache(config), sharing=one_a_core())
    for spec in config.newsletters:  # a newsletter that would never have anything to send
        key = f"newsletters.{spec.id}.categories" if config.newsletters_given else None
        for name in spec.categories:
            why = unknown_category(loaded.posts, name)
            if why:
                click.echo(f"{config.path.name}: {key or 'newsletter.category'}: {why}")
    report(loaded, utc_now())
    if loaded.errors:
        sys.exit(1)


@main.command(
    epilog="""\b
Examples:
  press publish
  press publish --force --verbose   # after changing the code or by hand in public/
"""
)
@click.option("--force", is_flag=True, help="Build every file again, even if nothing changed.")
@click.option("-v", "--verbose", is_flag=True, help="List each file written or removed.")
@pass_context
def publish(obj: Context, force: bool, verbose: bool) -> None:
    """Write every feed, page and index (only files whose content changed).

    Reads posts/, templates/ and press.toml, writes public/, and keeps what it needs to
    know next time in var/. When nothing changed since the last publish it says so and
    writes nothing. A post that cannot be read is skipped (press check says why); the
    others are published. If feeds.hub is set, the hub hears of the feeds that changed.
    """
    from press.files import PostChanged
    from press.lock import LockTimeout
    from press.progress import Progress
    from press.publish import publish as publish_run
    from press.shares import one_a_core

    def waiting(holder: str) -> None:
        click.echo(f"another publish run is going ({holder}); waiting for it", err=True)

    try:
        result = publish_run(
            obj.config, utc_now(), on_wait=waiting, force=force, sharing=one_a_core(),
            meter=Progress,  # a bar on a terminal for work past a second, else a line every 5 s
        )  # fmt: skip
    except LockTimeout as error:
        raise click.ClickException(f"gave up waiting: {error}") from None
    except PostChanged as error:
        raise click.ClickException(str(error)) from None
    failed = result.skipped
    skipped = f", {counted(failed, 'post')} skipped (press check lists why)" if failed else ""
    if result.fast:
        click.echo(
            f"nothing changed: {counted(result.files, 'file')} unchanged "
            f"({counted(result.published, 'post')}{skipped}; "
            "posts, templates and press.toml as last published)"
        )
        return
    for problem in result.loaded.problems:
        click.echo(str(problem), err=True)
    report = result.report
    if verbose:
        for name in report.written:
            click.echo(f"wrote   {name}")
        for name in report.removed:
            click.echo(f"removed {name}")
    for url in result.announce_failed:
        click.echo(f"WebSub hub unreachable for {url}; will retry on the next publish", err=True)
    if report.written or report.removed:
        click.echo(
            f"published {counted(result.published, 'post')}{skipped}: "
            f"{counted(len(report.written), 'file')} written, {len(report.unchanged):,} unchanged, "
            f"{len(report.removed):,} removed"
        )
    else:
        click.echo(
            f"nothing changed: {counted(result.files, 'file')} unchanged "
            f"({counted(result.published, 'post')}{skipped})"
        )


@main.command(
    epilog="""\b
Examples:
  press digest --week latest --preview out/   # look at it in a browser
  press digest --send                         # last week's, to every subscriber
  press digest --week 2022-W37 --outbox out/  # one .eml a subscriber, nothing sent
"""
)
@click.option(
    "--week",
    metavar="2022-W37|latest",
    help="The ISO week, or latest for the newest week with posts. Default: the last full week.",
)
@click.option(
    "--day",
    metavar="2022-09-16|latest",
    help="A daily newsletter's day, or latest. Default: yesterday.",
)
@click.option(
    "--newsletter",
    "newsletter_id",
    metavar="ID",
    help="The newsletter (an id of [newsletters.<id>]). Default: the first.",
)
@click.option(
    "--category",
    metavar="NAME",
    help="The newsletter of this one category (as before there were several).",
)
@click.option(
    "--send",
    is_flag=True,
    help="Send it to every confirmed subscriber through smtp.url (needs PRESS_SECRET_KEY).",
)
@click.option(
    "--queue-only",
    is_flag=True,
    help="With --send: queue the deliveries and leave them to press deliver workers.",
)
@click.option(
    "--outbox",
    "outbox_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one .eml file per confirmed subscriber instead of sending.",
)
@click.option(
    "--preview",
    "preview_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write digest.html, digest.txt and digest.eml for a sample recipient.",
)
@pass_context
def digest(
    obj: Context,
    week: str | None,
    day: str | None,
    newsletter_id: str | None,
    category: str | None,
    send: bool,
    queue_only: bool,
    outbox_dir: Path | None,
    preview_dir: Path | None,
) -> None:
    """Build a newsletter's digest of a week (or a day); send it, or write the outbox or
    a preview.

    Without an option it writes the week's web copy into public/newsletter/. --send
    needs smtp.url and PRESS_SECRET_KEY; each subscriber gets it once, however often the
    command runs (a run stopped midway sends only what is left when run again).
    """
    from newsletter.digest import WeekError
    from newsletter.smtp import SmtpError
    from press.pipeline import run_digest
    from press.send import SendRefused

    spec = _newsletter(obj.config, newsletter_id, category)
    if spec.cadence == "post":
        raise click.BadParameter(
            f"{spec.id} sends each post as it is published (press run), not a digest",
            param_hint="--newsletter",
        )
    if week and spec.cadence == "daily":
        raise click.BadParameter(f"{spec.id} is daily: give --day", param_hint="--week")
    if day and spec.cadence == "weekly":
        raise click.BadParameter(f"{spec.id} is weekly: give --week", param_hint="--day")
    if sum(bool(x) for x in (send, outbox_dir, preview_dir)) > 1:
        raise click.UsageError("choose one of --send, --outbox and --preview")
    if queue_only and not send:
        raise click.UsageError("--queue-only goes with --send")
    mode, folder = "preview", preview_dir
    if send:
        mode = "queue" if queue_only else "send"
    elif outbox_dir:
        mode, folder = "outbox", outbox_dir
    elif not preview_dir:
        mode = "web"
    from press.progress import Progress

    shown = Progress("sending", "message")  # a bar on a terminal, a line every 5 s elsewhere

    def progress(report: DeliveryReport, total: int) -> None:
        shown.update(report.sent + report.failed + report.deferred, total)

    def say(line: str, err: bool = False) -> None:
        shown.close()  # a line said after sending goes below the bar, not into it
        click.echo(line, err=err)

    try:
        result = run_digest(
            obj.config, week or day, mode, utc_now(), say=say,
            warn=lambda line: say(line, err=True), newsletter=spec.id, folder=folder,
            progress=progress,
        )  # fmt: skip
    except WeekError as error:
        raise click.BadParameter(str(error), param_hint="--day" if day else "--week") from None
    except (SendRefused, SmtpError, ConfigError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        shown.close()
    report = result.report
    from feeds.text import escape_controls

    for address, reason in report.failures if report else []:
        click.echo(f"failed: {escape_controls(address)}: {escape_controls(reason)}", err=True)
    for path in result.paths:
        click.echo(f"wrote {_shown(path)}")
    if result.state == "left":
        click.echo("run the same command again to send what is left", err=True)
    if result.state == "unavailable":
        click.echo("run the same command again when the server is back", err=True)
    sys.exit(result.exit_status)


def _newsletter(config: Config, newsletter_id: str | None, category: str | None) -> Any:
    """The newsletter --newsletter names (a wrong one is refused with the ones there
    are), or the one of --category's category (none: a weekly digest of it), or the
    first."""
    if newsletter_id and category:
        raise click.UsageError("give --newsletter or --category, not both")
    if category:
        from feeds.text import slugify
        from press.digest import newsletter_of

        slug = slugify(category)
        for spec in config.newsletters:
            if spec.id == slug or [slugify(c) for c in spec.categories] == [slug]:
                return spec
        return newsletter_of(config, slug)  # a weekly digest of it, by hand, as before
    try:
        return config.newsletter_spec(newsletter_id)
    except KeyError as error:
        raise click.BadParameter(str(error.args[0]), param_hint="--newsletter") from None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@main.group()
def subscribers() -> None:
    """Add, confirm, remove, list, import and export subscribers."""


NEWSLETTER_OPTION = click.option(
    "--newsletter",
    "newsletters",
    multiple=True,
    metavar="ID",
    help="A newsletter they get (an id of [newsletters.<id>]); repeat for more. "
    "Default: the first.",
)


def _subscriptions(
    config: Config, ids: tuple[str, ...], names: tuple[str, ...], new: bool = False
) -> list[str]:
    """The newsletters asked for by id (--newsletter; a wrong one is refused with the ones
    there are) and by category (--category: its weekly digest, as before there were
    several); default: the first newsletter."""
    for newsletter_id in ids:
        try:
            config.newsletter_spec(newsletter_id)
        except KeyError as error:
            raise click.BadParameter(str(error.args[0]), param_hint="--newsletter") from None
    from feeds.text import slugify

    by_category = [slugify(n) for n in _categories(config, names, new)] if names else []
    return list(dict.fromkeys([*ids, *by_category])) or [config.newsletters[0].id]


def _categories(config: Config, names: tuple[str, ...], new: bool = False) -> list[str]:
    """The categories asked for (default: the newsletter's); one that no post is filed
    under is refused, naming the nearest, unless ``new`` (--new-category)."""
    if names and not new:
        from feeds.text import slugify
        from newsletter.digest import unknown_category
        from press.content import load_posts
        from press.incremental import open_cache

        posts = load_posts(config, open_cache(config)).posts
        for name in names:
            why = unknown_category(posts, name)
            if why and slugify(name) != slugify(config.newsletter.category):
                raise click.BadParameter(
                    f"{why}; --new-category takes it anyway", param_hint="--category"
                )
    return list(names)


@subscribers.command("add")
@click.argument("email")
@NEWSLETTER_OPTION
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="NAME",
    help="A category they get the weekly digest of (its newsletter's id is its slug).",
)
@click.option(
    "--new-category", is_flag=True, help="Take a --category that no post is filed under yet."
)
@click.option(
    "--confirmed",
    is_flag=True,
    help="Add them confirmed, with no email: only when you hold their consent already.",
)
@click.option(
    "--source", default="cli", show_default=True, help="Where they came from, kept with them."
)
@pass_context
def subscribers_add(
    obj: Context,
    email: str,
    newsletters: tuple[str, ...],
    categories: tuple[str, ...],
    new_category: bool,
    confirmed: bool,
    source: str,
) -> None:
    """Add EMAIL as pending and send the confirmation link (or --confirmed)."""
    from newsletter.smtp import PermanentFailure, SmtpError, TemporaryFailure
    from newsletter.subscribers import InvalidEmail, add
    from press.mail import open_store, smtp_connector
    from press.send import SendRefused, real_signer, send_confirmation

    config = obj.config
    names = _subscriptions(config, newsletters, categories, new_category)
    if not confirmed and smtp_connector(config) is not None:
        try:
            real_signer(config)  # refuse before adding anyone we could not write to
        except SendRefused as error:
            raise click.ClickException(str(error)) from None
    try:
        added = add(open_store(config), email, names, source, utc_now(), confirmed)
    except InvalidEmail as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from None
    if added.outcome == "refused":
        raise click.ClickException(
            f"{added.email} is {added.status}: not added (they can subscribe again themselves)"
        )
    if added.outcome == "exists":
        click.echo(f"{added.email} is already {added.status}")
        return
    click.echo(f"{added.email}: {added.status}")
    if added.status == "pending":
        from newsletter.store import find_subscriber
        from press.digest import SECRET_VARIABLE, signer_from

        if smtp_connector(config) is None and signer_from(config).is_development:
            click.echo(
                f"{SECRET_VARIABLE} is not set: the link is signed with the development key "
                "and will not work on a site that has its own",
                err=True,
            )
        subscriber = find_subscriber(open_store(config), added.email)
        assert subscriber is not None, "just added"
        try:
            where = send_confirmation(
                config, subscriber, names, utc_now(), config.folder("var") / "outbox"
            )
        except (SendRefused, SmtpError, TemporaryFailure, PermanentFailure) as error:
            raise click.ClickException(f"confirmation not sent: {error}") from None
        click.echo(f"confirmation link: {_shown(Path(where)) if '/' in where else where}")


@subscribers.command("confirm")
@click.argument("email")
@pass_context
def subscribers_confirm(obj: Context, email: str) -> None:
    """Confirm a pending subscriber by hand."""
    _set_status(obj.config, email, "confirmed")


@subscribers.command("remove")
@click.argument("email")
@pass_context
def subscribers_remove(obj: Context, email: str) -> None:
    """Unsubscribe EMAIL; the address is kept so it is never mailed again."""
    _set_status(obj.config, email, "unsubscribed")


def _set_status(config: Config, email: str, status: str) -> None:
    from newsletter.store import find_subscriber, set_status
    from newsletter.subscribers import InvalidEmail, normalise_email
    from press.mail import open_store

    try:
        address = normalise_email(email)
    except InvalidEmail as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from None
    engine = open_store(config)
    current = find_subscriber(engine, address)
    if current is None:
        raise click.ClickException(f"{address} is not a subscriber")
    if status == "confirmed" and current.status in LEFT:
        raise click.ClickException(f"{address} is {current.status}: only they can subscribe again")
    set_status(engine, address, status, utc_now())
    click.echo(f"{address}: {status}")


@subscribers.command("list")
@click.option(
    "--status",
    type=click.Choice(list(STATUSES)),
    help="Only this status.",
)
@click.option("--newsletter", metavar="ID", help="Only subscribers of this newsletter.")
@click.option("--category", metavar="NAME", help="Only subscribers of this category's digest.")
@pass_context
def subscribers_list(
    obj: Context, status: str | None, newsletter: str | None, category: str | None
) -> None:
    """List subscribers: email, status, newsletters, subscribed."""
    from feeds.text import slugify
    from newsletter.store import list_subscribers
    from press.mail import open_store

    slug = newsletter or (slugify(category) if category else None)
    count = 0
    for s in list_subscribers(open_store(obj.config), status, slug):
        newsletters = ",".join(s.newsletters)
        click.echo(f"{s.email}\t{s.status}\t{newsletters}\t{s.subscribed_at:%Y-%m-%d}")
        count += 1
    click.echo(counted(count, "subscriber"), err=True)


@subscribers.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@NEWSLETTER_OPTION
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="NAME",
    help="A category whose weekly digest rows that name no newsletter get; repeat for more.",
)
@click.option(
    "--new-category", is_flag=True, help="Take a --category that no post is filed under yet."
)
@pass_context
def subscribers_import(
    obj: Context,
    file: Path,
    newsletters: tuple[str, ...],
    categories: tuple[str, ...],
    new_category: bool,
) -> None:
    """Import FILE.csv (header row; email, and optionally status, newsletters, source)."""
    from newsletter.subscribers import import_csv
    from press.mail import open_store

    config = obj.config
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file}: not UTF-8: {error}") from None
    engine = open_store(config)
    names = _subscriptions(config, newsletters, categories, new_category)
    report = import_csv(engine, text, names, f"import:{file.name}", utc_now())
    for line, reason in report.problems:
        click.echo(f"{file}:{line}: {reason}", err=True)
    for line, reason in report.skipped:
        click.echo(f"{file}:{line}: skipped: {reason}", err=True)
    click.echo(
        f"imported {report.imported:,}, skipped {len(report.skipped):,}, "
        f"{counted(len(report.problems), 'bad row')}"
    )
    if report.problems:
        sys.exit(1)


@subscribers.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@pass_context
def subscribers_export(obj: Context, file: Path) -> None:
    """Export every subscriber to FILE.csv ('-' for standard output)."""
    from newsletter.subscribers import export_csv
    from press.mail import open_store
    from press.write import write_atomic

    lines = export_csv(open_store(obj.config))
    if str(file) == "-":
        for line in lines:
            click.echo(line, nl=False)
        return
    write_atomic(file, "".join(lines).encode("utf-8"))
    click.echo(f"wrote {_shown(file)}")


@main.command(
    epilog="""\b
Examples:
  press serve --watch          # look at the site while you write
  PRESS_SECRET_KEY=… press serve --host 0.0.0.0 --port 8080
"""
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="The port to listen on.")
@click.option(
    "--watch",
    is_flag=True,
    help="Publish at start, and again whenever a post or template changes (like hugo server).",
)
@pass_context
def serve(obj: Context, host: str, port: int, watch: bool) -> None:
    """Serve the site in public/ and the subscription pages over HTTP.

    Without PRESS_SECRET_KEY this is a preview: the site alone, and the subscription
    pages say that subscriptions are off (nothing is signed and no email can go out).
    With the key (32 characters or more), readers can subscribe, confirm, unsubscribe
    and change their choice; confirmation emails go through smtp.url, or into
    var/outbox/ when it is empty. Behind a proxy, it trusts X-Forwarded-For from
    127.0.0.1.
    """
    import threading

    import uvicorn

    from press.send import SendRefused
    from press.serve import access_log_config, build_app, build_preview_app, has_key

    config = obj.config
    try:
        app = build_app(config) if has_key(config) else build_preview_app(config)
    except SendRefused as error:
        raise click.ClickException(str(error)) from None
    public = config.folder("public")
    stop = threading.Event()
    if watch:
        import logging.config

        from press.serve import start_watching

        logging.config.dictConfig(access_log_config())
        start_watching(config, stop)
    elif not (public / "index.html").is_file():
        click.echo(
            f"{_shown(public)}/ has no site yet: run press publish first, or press serve --watch",
            err=True,
        )
    url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"
    if has_key(config):
        click.echo(f"serving {_shown(public)}/ and the subscription pages on {url}")
    else:
        click.echo(f"serving a preview of {_shown(public)}/ on {url}")
        from press.send import MAKE_KEY

        click.echo(
            f"subscriptions are off: PRESS_SECRET_KEY is not set; to take them: {MAKE_KEY}",
            err=True,
        )
    try:
        uvicorn.run(
            app, host=host, port=port, proxy_headers=True, log_level="info",
            log_config=access_log_config(),
        )  # fmt: skip
    finally:
        stop.set()


@main.command(
    "run",
    epilog="""\b
Examples:
  press run                  # under systemd or in a terminal; Ctrl-C stops it
  press run --once           # from cron: do what is due, then exit
""",
)
@click.option(
    "--once", is_flag=True, help="Do what is due now (a publish, a missed digest), then exit."
)
@click.option(
    "--standby",
    is_flag=True,
    help="When another press run is scheduling, wait and take over when it stops.",
)
@pass_context
def run_command(obj: Context, once: bool, standby: bool) -> None:
    """The scheduler: publish on new or due posts, send the weekly digest on time.

    Looks at posts/ every schedule.poll_seconds and publishes after a change or when a
    post's date comes; sends the digest at schedule.digest in site.timezone (needs
    smtp.url and PRESS_SECRET_KEY). A digest missed while it was down goes out when it
    starts, within schedule.grace_hours. One press run a database; SIGTERM lets the
    messages in flight finish.
    """
    import logging
    import signal
    import threading

    from press.schedule import AlreadyRunning, run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        logging.getLogger("press.run").info("stopping: finishing the work in flight")
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        unfinished = run(obj.config, once=once, standby=standby, stop=stopping)
    except AlreadyRunning as error:
        raise click.ClickException(str(error)) from None
    if unfinished:  # --once: a due digest could not all go; the next run tries again
        sys.exit(UNAVAILABLE)


@main.group()
def new() -> None:
    """Start a blog of one's own, or a new post in it."""


@new.command(
    "site",
    epilog="""\b
Examples:
  press new site my-blog
  press new site my-blog --title "My Blog" --url https://blog.example.com \\
      --author "A. Writer" --timezone Europe/Paris --category Notes
  cd my-blog && press publish && press serve
""",
)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", prompt="The site's name", help="The site's name (site.title).")
@click.option(
    "--url",
    prompt="Its public address (https://…)",
    help="The address the site will be published at (site.url).",
)
@click.option("--author", prompt="Who writes it", help="The author of the posts (site.author).")
@click.option("--description", default="", help="One line about the site (site.description).")
@click.option(
    "--language", default="en", show_default=True, help="The language of the posts (BCP 47)."
)
@click.option(
    "--timezone",
    prompt="Its time zone",
    default="UTC",
    show_default=True,
    help="The zone of the posts' dates and the digest's schedule, like Europe/London.",
)
@click.option(
    "--category",
    default="Notes",
    show_default=True,
    help="The example post's category, which the weekly digest gathers.",
)
def new_site(
    folder: Path,
    title: str,
    url: str,
    author: str,
    description: str,
    language: str,
    timezone: str,
    category: str,
) -> None:
    """Make FOLDER a new blog: press.toml, posts/ with a first post, the templates to
    change as you like, and a .gitignore for what press makes (public/, var/).

    Nothing that is already there is overwritten: when any of these files exists,
    nothing is written.
    """
    from press.starter import Exists, NewSite
    from press.starter import new_site as make_site

    answers = NewSite(title, url, author, description, language, timezone, category)
    try:
        written = make_site(folder, answers, utc_now())
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    except Exists as error:
        raise click.ClickException(error.shown(_shown)) from None
    post = next(path for path in written if path.parent.name == "posts")
    click.echo(f"made {_shown(folder)}/ with {counted(len(written), 'file')}; the first post is")
    click.echo(f"  {_shown(post)}")
    click.echo("next:")
    click.echo(f"  cd {_shown(folder)}")
    click.echo('  press new post "A title"      # write a post')
    click.echo("  press serve --watch           # look at it on http://localhost:8000/")


@new.command(
    "post",
    epilog="""\b
Examples:
  press new post "Beijing and Moscow, again"
  press new post "Trade talks" --category Trade --category China-U.S. --edit
""",
)
@click.argument("title")
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="NAME",
    help="A category to file the post under; repeat for more. Default: newsletter.category.",
)
@click.option("--slug", default="", help="The post's slug; default: made from the title.")
@click.option("--draft", is_flag=True, help="Mark it a draft: checked, never published.")
@click.option("--edit", is_flag=True, help="Open it in $VISUAL or $EDITOR once made.")
@pass_context
def new_post(
    obj: Context, title: str, categories: tuple[str, ...], slug: str, draft: bool, edit: bool
) -> None:
    """Make a new post in the posts folder: a file named from its date and slug, its
    front matter filled in (the title, now in site.timezone, the categories).

    The body is left for you to write, in Markdown; press check warns while it is empty.
    An existing file is never overwritten.
    """
    from press.starter import Exists
    from press.starter import new_post as make_post

    config = obj.config
    try:
        path = make_post(config, title, list(categories), utc_now(), slug, draft)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TITLE") from None
    except Exists as error:
        raise click.ClickException(error.shown(_shown)) from None
    click.echo(f"wrote {_shown(path)}")
    if edit:
        click.edit(filename=str(path))
    else:
        click.echo("write the post below its front matter, then press publish")


@main.group()
def bounces() -> None:
    """Bounces and complaints that come back after a send: each handled once."""


@bounces.command(
    "pipe",
    epilog="""\b
For a mail server's pipe transport, one message on standard input. Postfix:
  # master.cf
  press-bounces unix - n n - - pipe
    user=press argv=/srv/blog/.venv/bin/press -c /srv/blog/press.toml
    bounces pipe --to ${recipient}
  # transport_maps: bounces@example.com press-bounces:  (recipient_delimiter = +)
Exit status 75 (try again later) when the database cannot be reached.""",
)
@click.option(
    "--to",
    "recipients",
    multiple=True,
    metavar="ADDRESS",
    envvar="RECIPIENT",
    help="The address the message came to (the envelope recipient); repeatable.",
)
@pass_context
def bounces_pipe(obj: Context, recipients: tuple[str, ...]) -> None:
    """Read one returned message from standard input and act on it."""
    report = _handle_bounces(obj, iter([(sys.stdin.buffer.read(), tuple(recipients))]))
    click.echo(report.summary())


@bounces.command(
    "receive",
    epilog="""\b
An SMTP listener for the mail server to hand returned mail to. Postfix:
  # transport_maps: bounces@example.com smtp:[127.0.0.1]:8025  (recipient_delimiter = +)
A message is answered 250 once handled, 451 (try again) when the database is away.
Stops on SIGTERM or Ctrl-C and prints what came.""",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8025, show_default=True, type=int, help="The port.")
@pass_context
def bounces_receive(obj: Context, host: str, port: int) -> None:
    """Take returned mail over SMTP and act on each message as it comes."""
    import logging

    from press.bounce_server import receive
    from press.send import SendRefused

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("press").setLevel(logging.INFO)  # a line a message; not aiosmtpd's
    try:
        summary = receive(obj.config, host, port)
    except SendRefused as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None
    click.echo(summary)


@bounces.command(
    "read",
    epilog="""\b
Examples:
  press bounces read ~/Maildir/.Bounces     # a Maildir (cur/ and new/)
  press bounces read /var/mail/bounces      # an mbox file
Each message is handled once, however often the mailbox is read; it is left as it is.""",
)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@pass_context
def bounces_read(obj: Context, path: Path) -> None:
    """Read every message of a Maildir or mbox of returned mail and act on each."""
    from press.bounces import mailbox_messages

    try:
        messages = mailbox_messages(path)
        report = _handle_bounces(obj, messages)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.summary())


def _handle_bounces(obj: Context, messages: Any) -> Any:
    from sqlalchemy.exc import OperationalError

    from press.bounces import handle_messages
    from press.send import SendRefused

    try:
        return handle_messages(obj.config, messages)
    except SendRefused as error:
        raise click.ClickException(str(error)) from None
    except OperationalError as error:  # the mail server keeps the message and tries again
        click.echo(f"the database cannot be reached: {error.orig}", err=True)
        sys.exit(UNAVAILABLE)


@main.command(
    "report",
    epilog="""\b
Examples:
  press report                          # the latest digest
  press report --newsletter each-post   # the latest of one newsletter
  press report 2022-W37-china-russia --json""",
)
@click.argument("digest", required=False, metavar="[DIGEST]")
@click.option("--newsletter", metavar="ID", help="The latest digest of this newsletter.")
@click.option("--json", "as_json", is_flag=True, help="As JSON, for a script.")
@pass_context
def report_command(obj: Context, digest: str | None, newsletter: str | None, as_json: bool) -> None:
    """What became of a digest: sent, failed, bounced later, complained, left since."""
    import json

    from newsletter.ledger import find_digest
    from newsletter.report import digest_report, latest_digest
    from press.mail import open_store

    engine = open_store(obj.config)
    key = digest or latest_digest(engine, newsletter)
    record = find_digest(engine, key) if key else None
    if record is None:
        of = f" of {newsletter}" if newsletter else ""
        raise click.ClickException(
            f"no digest {key} in the ledger" if key else f"no digest{of} has been sent yet"
        )
    found = digest_report(engine, record)
    click.echo(json.dumps(found.as_json(), indent=2) if as_json else found.table())


@subscribers.command("reactivate")
@click.argument("email")
@click.option(
    "--despite-complaint",
    is_flag=True,
    help="Also for an address whose owner complained (only on their own word).",
)
@pass_context
def subscribers_reactivate(obj: Context, email: str, despite_complaint: bool) -> None:
    """Mail a bounced address again (its owner fixed their mailbox)."""
    from newsletter.store import find_subscriber, reactivate
    from newsletter.subscribers import InvalidEmail, normalise_email
    from press.mail import open_store

    try:
        address = normalise_email(email)
    except InvalidEmail as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from None
    engine = open_store(obj.config)
    current = find_subscriber(engine, address)
    if current is None:
        raise click.ClickException(f"{address} is not a subscriber")
    allowed = ("bounced", "complained") if despite_complaint else ("bounced",)
    if current.status not in allowed:
        hint = "; --despite-complaint if they asked you" if current.status == "complained" else ""
        raise click.ClickException(f"{address} is {current.status}, not bounced{hint}")
    reactivate(engine, address, utc_now())
    click.echo(f"{address}: confirmed again (bounce counts cleared)")


@main.group("import")
def import_group() -> None:
    """Bring posts in from another platform."""


@import_group.command("wordpress")
@click.argument("export", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the posts go; default: the posts folder of press.toml.",
)
@pass_context
def import_wordpress_command(obj: Context, export: Path, into: Path | None) -> None:
    """Import a WordPress export (Tools → Export, WXR) into Markdown posts."""
    from press.progress import Progress
    from press.wordpress import import_wordpress

    config = obj.config
    folder = into or config.folder("posts")
    folder.mkdir(parents=True, exist_ok=True)
    with Progress("importing", "item") as shown:
        report = import_wordpress(
            export, folder, config.folder("var"), config.site.timezone, shown.update
        )
    for problem in report.problems:  # "12: …" is a line of the file: export.xml:12: …
        click.echo(
            f"{export}:{problem}" if problem[:1].isdigit() else f"{export}: {problem}", err=True
        )
    for warning in report.warnings:
        click.echo(f"{export}: warning: {warning}", err=True)
    for name in report.left_alone:
        click.echo(f"left alone (edited since it was imported): {name}", err=True)
    skipped = ", ".join(f"{n:,} {reason}" for reason, n in sorted(report.skipped.items())) or "none"
    click.echo(
        f"imported {len(report.imported):,} ({counted(report.drafts, 'draft')}), "
        f"updated {len(report.updated):,}, "
        f"unchanged {len(report.unchanged):,}, left alone {len(report.left_alone):,}, "
        f"skipped: {skipped}; {counted(len(report.problems), 'problem')}, "
        f"{counted(len(report.warnings), 'warning')}"
    )
    if report.problems:
        sys.exit(1)


@main.command(
    epilog="""\b
Examples:
  press digest --send --queue-only && press deliver --until-empty
  press deliver --connections 8     # on each sending machine, until stopped
"""
)
@click.option("--worker", is_flag=True, hidden=True)  # once required; still taken
@click.option("--until-empty", is_flag=True, help="Exit once no delivery is left queued.")
@click.option(
    "--connections",
    type=click.IntRange(min=1),
    help="SMTP connections for this worker. Default: delivery.connections.",
)
@pass_context
def deliver(obj: Context, worker: bool, until_empty: bool, connections: int | None) -> None:
    """Send queued deliveries, sharing them with any other workers (PostgreSQL).

    Takes batches of what press digest --send --queue-only queued, under a lease that
    another worker takes over if this one dies; needs smtp.url and PRESS_SECRET_KEY.
    Runs until stopped (SIGTERM), or with --until-empty until nothing is queued.
    """
    import logging
    import signal
    import threading

    from newsletter.smtp import SmtpError
    from press.send import SendRefused
    from press.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        report = run_worker(obj.config, stop, until_empty=until_empty, connections=connections)
    except (SendRefused, SmtpError) as error:
        raise click.ClickException(str(error)) from None
    from newsletter.deliver import summary

    click.echo(summary(report))
    if report.outage:
        click.echo(f"Error: the SMTP server takes no mail now: {report.outage}", err=True)
        sys.exit(UNAVAILABLE)
