"""Several newsletters: press.toml's [newsletters], the migration that carries a site of
one digest over, and a weekly newsletter of several categories, sent for real."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from press.config import ConfigError, load_config
from press.ledger import fired
from tests.smtp_server import smtp_server
from tests.test_delivery import KEY, configure

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TWO = """
[newsletters.asia-weekly]
title = "The weekly Asia digest"
categories = ["China-Russia", "China-U.S."]
at = "mon 07:00"

[newsletters.china-russia-daily]
categories = ["China-Russia"]
cadence = "daily"
at = "18:30"
subject = "{newsletter}: {first_title}"
"""


def write(project: Path, extra: str, drop_legacy: bool = True) -> Path:
    toml = project / "press.toml"
    body = toml.read_text()
    if drop_legacy:  # the bundled file names the one digest's category
        body = body.replace('category = "China-Russia"\n', "")
    toml.write_text(body + extra)
    return toml


def test_a_site_of_one_digest_has_one_weekly_newsletter(project: Path) -> None:
    (spec,) = load_config(project / "press.toml").newsletters
    assert spec.id == "china-russia" and spec.cadence == "weekly"
    assert spec.categories == ("China-Russia",) and spec.at == "mon 07:00:00"
    assert spec.title == "The weekly China-Russia digest"


def test_newsletters_are_read_from_their_tables(project: Path) -> None:
    weekly, daily = load_config(write(project, TWO)).newsletters
    assert (weekly.id, weekly.cadence, weekly.at) == ("asia-weekly", "weekly", "mon 07:00:00")
    assert weekly.categories == ("China-Russia", "China-U.S.")
    assert (daily.id, daily.cadence, daily.at) == ("china-russia-daily", "daily", "18:30:00")
    assert daily.title == "China-Russia daily" and daily.subject == "{newsletter}: {first_title}"


def test_the_list_spelling_works_too(project: Path) -> None:
    toml = write(
        project,
        '\n[[newsletters]]\nid = "all-posts"\ncategories = "all"\ncadence = "post"\n',
    )
    (spec,) = load_config(toml).newsletters
    assert (spec.id, spec.categories, spec.cadence, spec.at) == ("all-posts", (), "post", "")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('\n[newsletters.x]\ncategories = ["Trade"]\ncadence = "monthly"\n',
         "newsletters.x.cadence: expected one of ['post', 'daily', 'weekly'], got 'monthly'"),
        ("\n[newsletters.x]\ncadence = \"weekly\"\n",
         'newsletters.x.categories: required (a list of category names, or "all")'),
        ('\n[newsletters.x]\ncategories = ["Trade"]\nat = "mon 02:30"\n',
         "newsletters.x.at: mon 02:30:00 falls in 01:00–03:00, which Europe/London skips"),
        ('\n[newsletters.x]\ncategories = ["Trade"]\ncadence = "post"\nat = "07:00"\n',
         "newsletters.x.at: a post newsletter goes out as each post is published"),
        ('\n[newsletters.Big]\ncategories = ["Trade"]\n',
         "newsletters.Big: an id is lower-case letters, digits and hyphens"),
        ('\n[newsletters.x]\ncategories = ["Trade"]\nsubjekt = "x"\n',
         "unknown setting newsletters.x.subjekt; known: title, categories"),
        ('\n[newsletters.x]\ncategories = ["Trade", "trade"]\n',
         "newsletters.x.categories: a category is named twice"),
        ('\n[newsletters.x]\ncategories = ["Trade"]\nsubject = "{nope}"\n',
         "newsletters.x.subject: unknown field {nope}"),
        ('\n[newsletters.x]\ncategories = "all"\nchoose_categories = true\n',
         "newsletters.x.choose_categories: readers choose among its categories"),
    ],
)  # fmt: skip
def test_a_wrong_newsletter_is_named_by_its_key(project: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(project, extra))
    assert message in str(caught.value)
    assert str(project / "press.toml") in str(caught.value)


def test_the_old_keys_beside_newsletters_show_the_new_spelling(project: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(project, TWO, drop_legacy=False))
    assert (
        "newsletter.category: with [newsletters], each newsletter has its own categories: "
        '[newsletters.china-russia] categories = ["China-Russia"]'
    ) in str(caught.value)


def test_each_newsletter_fires_at_its_own_local_time_across_dst(project: Path) -> None:
    weekly, daily = load_config(write(project, TWO)).newsletters
    config = load_config(project / "press.toml")
    since, until = datetime(2027, 3, 26, tzinfo=UTC), datetime(2027, 3, 30, tzinfo=UTC)
    days = fired(config, since, until, daily)
    assert [(d.period, d.at.isoformat()) for d in days] == [
        ("2027-03-25", "2027-03-26T18:30:00+00:00"),  # GMT
        ("2027-03-26", "2027-03-27T18:30:00+00:00"),
        ("2027-03-27", "2027-03-28T18:30:00+01:00"),  # BST: the clocks went forward at 01:00
        ("2027-03-28", "2027-03-29T18:30:00+01:00"),
    ]
    weeks = fired(config, since, until, weekly)
    assert [(d.key, d.at.isoformat()) for d in weeks] == [
        ("2027-W12-asia-weekly", "2027-03-29T07:00:00+01:00")
    ]
    autumn = fired(config, datetime(2027, 10, 30, tzinfo=UTC), datetime(2027, 11, 1, tzinfo=UTC))
    assert [d.at.isoformat() for d in autumn] == []  # the first: weekly, none that weekend
    back = fired(
        config, datetime(2027, 10, 30, 12, tzinfo=UTC), datetime(2027, 11, 1, tzinfo=UTC), daily
    )
    assert [d.at.isoformat() for d in back] == [
        "2027-10-30T18:30:00+01:00", "2027-10-31T18:30:00+00:00",  # once each, GMT again
    ]  # fmt: skip


def test_the_migration_carries_subscribers_and_their_digests_over(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from newsletter.store import MIGRATIONS, connect, find_subscriber, migrate

    engine = connect(database_url)
    alembic = AlembicConfig()
    alembic.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, "0005")  # a database made by the code of one digest
    when = NOW.replace(tzinfo=None)
    people = [
        ("a@example.com", "confirmed", ["china-russia"]),
        ("b@example.com", "confirmed", ["china-russia", "trade"]),
        ("c@example.com", "unsubscribed", ["trade"]),
        ("d@example.com", "bounced", []),
        ("e@example.com", "complained", ["china-russia"]),
        ("f@example.com", "pending", ["china-us"]),
    ]
    with engine.begin() as connection:
        for n, (email, state, categories) in enumerate(people, 1):
            connection.execute(
                text(
                    "INSERT INTO subscribers (id, email, status, source, subscribed_at,"
                    " hard_bounces, version) VALUES (:i, :e, :s, 'test', :t, 0, 0)"
                ),
                {"i": n, "e": email, "s": state, "t": when},
            )
            for category in categories:
                connection.execute(
                    text("INSERT INTO subscriber_categories VALUES (:i, :c)"),
                    {"i": n, "c": category},
                )
        connection.execute(
            text(
                "INSERT INTO digests (id, key, category, week, subject, created_at, finished_at)"
                " VALUES (1, '2022-W37-china-russia', 'china-russia', '2022-W37', 's', :t, :t)"
            ),
            {"t": when},
        )
    migrate(engine)
    for email, state, categories in people:
        found = find_subscriber(engine, email)
        assert found is not None
        assert (found.status, found.newsletters) == (state, tuple(categories)), email
    with engine.connect() as connection:
        row = connection.execute(text("SELECT key, newsletter, week FROM digests")).one()
    assert tuple(row) == ("2022-W37-china-russia", "china-russia", "2022-W37")
    engine.dispose()


def test_one_email_a_week_with_each_post_once_however_many_categories(
    project: Path, database_url: str
) -> None:
    """A reader of a weekly newsletter of China-Russia and China-U.S.: one email, and the
    post filed under both appears once in it."""
    from newsletter.subscribers import add
    from press.digest import prepare
    from press.mail import open_store
    from press.send import send_digest

    both = project / "posts" / "2022-09-14-both.md"
    both.write_text(
        "---\ntitle: Filed Under Both\ndate: 2022-09-14T10:00:00+01:00\n"
        "categories: [China-Russia, China-U.S.]\n---\n\nA post about all three.\n"
    )
    write(project, TWO)
    with smtp_server() as server:
        config = configure(project, server.url, "", database_url)
        engine = open_store(config)
        add(engine, "reader@example.com", ["asia-weekly"], "test", NOW, confirmed=True)
        add(engine, "daily@example.com", ["china-russia-daily"], "test", NOW, confirmed=True)
        run, _ = prepare(config, "2022-W37", "asia-weekly", NOW)
        titles = [p.title for p in run.digest.posts]
        assert titles.count("Filed Under Both") == 1 and len(titles) == len(set(titles))
        assert run.digest.label == "China-Russia and China-U.S."
        report = send_digest(config, run, engine)
        again = send_digest(config, prepare(config, "2022-W37", "asia-weekly", NOW)[0], engine)
        received = server.handler.received
    assert (report.sent, again.sent) == (1, 0)
    assert [m.recipients for m in received] == [["reader@example.com"]]  # not the daily one
    message = message_from_bytes(received[0].data, policy=policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    plain = body.get_content()
    assert plain.count("Filed Under Both") == 1
    assert "CHINA BYSTANDER · China-Russia and China-U.S." in plain
    assert "you subscribed to the weekly Asia digest from China Bystander" in " ".join(
        plain.split()
    )
    assert message["List-Id"].endswith("<asia-weekly.chinabystander.com>")
    assert message["Subject"].startswith("China-Russia and China-U.S. this week: ")
    import json

    from tests.test_cli import run as cli

    report = cli(project, "report", "--newsletter", "asia-weekly", "--json")
    assert report.returncode == 0, report.stderr
    assert (json.loads(report.stdout)["digest"], json.loads(report.stdout)["sent"]) == (
        "2022-W37-asia-weekly", 1,
    )  # fmt: skip
    none = cli(project, "report", "--newsletter", "china-russia-daily")
    assert none.returncode == 1 and "no digest of china-russia-daily has been sent" in none.stderr


EACH_POST = """
[newsletters.each-post]
title = "China-Russia, post by post"
categories = ["China-Russia"]
cadence = "post"
"""
SENT_AT = datetime(2022, 5, 30, 7, 0, tzinfo=UTC)


def rendered_pair(project: Path) -> dict[str, Any]:
    """The weekly Asia digest of 2022-W21 (a post there is filed under both its
    categories) and the post newsletter's email of that post, with one reader's links."""
    from newsletter.message import build_message, message_bytes
    from newsletter.tokens import Signer
    from press.content import load_posts
    from press.digest import prepare, prepare_post, recipient_for

    config = load_config(write(project, TWO + EACH_POST))
    weekly, _ = prepare(config, "2022-W21", "asia-weekly", SENT_AT)
    (quad,) = [p for p in load_posts(config).posts if p.slug.startswith("china-and-russia-fly")]
    each = prepare_post(config, config.newsletter_spec("each-post"), quad, "post-golden", SENT_AT)
    recipient = recipient_for(config, Signer("test key"), "reader@example.com", 1)
    found = {}
    for name, run in (("asia-weekly-2022-W21", weekly), ("each-post", each)):
        message = build_message(config.site, run.rendered, run.envelope, recipient)
        found[name] = (run, message_bytes(message))
    return found


def test_golden_multi_category_digest_and_post_email(project: Path, golden: Any) -> None:
    pair = rendered_pair(project)
    for name, (run, raw) in pair.items():
        golden(f"newsletters/{name}.html", run.rendered.html.encode())
        golden(f"newsletters/{name}.txt", run.rendered.text.encode())
        headers = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n") + b"\n"
        golden(f"newsletters/{name}.headers", headers)
    runs = {name: run for name, (run, _) in pair.items()}
    weekly, each = runs["asia-weekly-2022-W21"], runs["each-post"]
    assert [p.slug[:20] for p in weekly.digest.posts].count("china-and-russia-fly") == 1
    assert each.rendered.subject == "China And Russia Fly Too Close For The Quad’s Comfort"
    assert "View in your browser" not in each.rendered.html  # the post's page is that
    assert "Read more" in each.rendered.html


@pytest.mark.parametrize("width", [375, 600])
def test_both_fit_a_phone_and_a_desktop(project: Path, width: int) -> None:
    from tests.browser import scroll_width

    for run, _ in rendered_pair(project).values():
        assert scroll_width(run.rendered.html, width) <= width


@pytest.mark.slow
def test_the_cli_names_newsletters(project: Path) -> None:
    from tests.test_cli import run

    write(project, TWO)
    added = run(project, "subscribers", "add", "a@example.com", "--confirmed",
                "--newsletter", "asia-weekly", "--newsletter", "china-russia-daily")  # fmt: skip
    assert added.returncode == 0, added.stderr
    run(project, "subscribers", "add", "b@example.com", "--confirmed")  # the first
    listed = run(project, "subscribers", "list", "--newsletter", "china-russia-daily")
    assert listed.stdout.startswith("a@example.com\tconfirmed\tasia-weekly,china-russia-daily\t")
    assert "b@example.com" not in listed.stdout
    everyone = run(project, "subscribers", "list", "--newsletter", "asia-weekly").stdout
    assert "a@example.com" in everyone and "b@example.com" in everyone
    wrong = run(project, "subscribers", "add", "c@example.com", "--newsletter", "asia")
    assert wrong.returncode == 2
    assert "no newsletter 'asia' in press.toml (known: asia-weekly, china-russia-daily)" in (
        wrong.stderr
    )
    daily = run(project, "digest", "--newsletter", "china-russia-daily", "--day", "2022-09-16",
                "--outbox", "box")  # fmt: skip
    assert daily.returncode == 0, daily.stderr
    assert "China-Russia digest 2022-09-16 (16 September 2022): 1 post" in daily.stdout
    assert [p.name for p in (project / "box").iterdir()] == [
        "2022-09-16-china-russia-daily-a@example.com.eml"
    ]
    mixed = run(project, "digest", "--newsletter", "china-russia-daily", "--week", "2022-W37")
    assert mixed.returncode == 2 and "china-russia-daily is daily: give --day" in mixed.stderr
    weekly = run(project, "digest", "--newsletter", "asia-weekly", "--week", "2022-W21",
                 "--preview", "out")  # fmt: skip
    assert "China-Russia and China-U.S. digest 2022-W21" in weekly.stdout


US_POST = (
    "---\ntitle: Washington Watches\ndate: 2022-09-15T10:00:00+01:00\n"
    "categories: [China-U.S.]\n---\n\nA post about the United States alone.\n"
)


NARROWABLE = TWO.replace('at = "mon 07:00"\n', 'at = "mon 07:00"\nchoose_categories = true\n', 1)


def test_readers_who_narrow_a_newsletter_get_only_their_categories(
    project: Path, database_url: str
) -> None:
    from newsletter.store import find_subscriber, set_newsletters
    from newsletter.subscribers import add
    from press.digest import prepare
    from press.mail import open_store
    from press.send import send_digest

    (project / "posts" / "2022-09-15-us.md").write_text(US_POST)
    write(project, NARROWABLE)
    with smtp_server() as server:
        config = configure(project, server.url, "", database_url)
        engine = open_store(config)
        for email, choice in (
            ("all@example.com", "asia-weekly"),
            ("us@example.com", "asia-weekly:china-us"),
            ("russia@example.com", "asia-weekly:china-russia"),
        ):
            add(engine, email, [choice], "test", NOW, confirmed=True)
        found = find_subscriber(engine, "us@example.com")
        assert found is not None and found.choices == ("asia-weekly:china-us",)
        assert found.newsletters == ("asia-weekly",)
        send_digest(config, prepare(config, "2022-W37", "asia-weekly", NOW)[0], engine)
        week37 = {m.recipients[0]: m.message() for m in server.handler.received}
        server.handler.received.clear()
        send_digest(config, prepare(config, "2022-W36", "asia-weekly", NOW)[0], engine)
        week36 = [m.recipients[0] for m in server.handler.received]
        assert set_newsletters(engine, "us@example.com", ["asia-weekly"])  # all of it again
        again = find_subscriber(engine, "us@example.com")
        assert again is not None and again.choices == ("asia-weekly",)

    def titles(message: Any) -> list[str]:
        text = message.get_body(("plain",)).get_content()
        wanted = ["Washington Watches", "China Is Becoming The Big Brother", "Russia’s Fulsome"]
        return [t for t in wanted if t in text]

    assert titles(week37["all@example.com"]) == [
        "Washington Watches", "China Is Becoming The Big Brother", "Russia’s Fulsome",
    ]  # fmt: skip
    assert titles(week37["us@example.com"]) == ["Washington Watches"]
    assert titles(week37["russia@example.com"]) == [
        "China Is Becoming The Big Brother", "Russia’s Fulsome",
    ]  # fmt: skip
    us = week37["us@example.com"].get_body(("plain",)).get_content()
    assert "CHINA BYSTANDER · China-U.S." in us and "1 post this week" in us
    # 2022-W36 has China-Russia posts only: who kept China-U.S. alone gets nothing.
    assert sorted(week36) == ["all@example.com", "russia@example.com"]


def test_the_preferences_page_narrows_a_newsletter(project: Path) -> None:
    import httpx

    from newsletter.store import find_subscriber
    from newsletter.subscribers import add
    from newsletter.tokens import Signer, link_subject
    from press.mail import open_store
    from tests.test_web import csrf_of, serving

    config = load_config(write(project, NARROWABLE), {"PRESS_SECRET_KEY": KEY})
    engine = open_store(config)
    add(engine, "a@example.com", ["asia-weekly"], "test", NOW, confirmed=True)
    subscriber = find_subscriber(engine, "a@example.com")
    assert subscriber is not None
    token = Signer(KEY).sign("preferences", link_subject(subscriber.id))
    with serving(config) as base, httpx.Client(base_url=base) as client:
        page = client.get(f"/preferences/{token}")
        assert page.status_code == 200
        assert 'name="categories-asia-weekly" value="china-us" checked' in page.text
        assert "The weekly Asia digest" in page.text and "China-Russia daily" in page.text
        saved = client.post(
            f"/preferences/{token}",
            data={"csrf": csrf_of(page.text), "newsletter": ["asia-weekly", "china-russia-daily"],
                  "categories-asia-weekly": "china-us"},
        )  # fmt: skip
        assert saved.status_code == 200, saved.text
        assert "The weekly Asia digest (China-U.S. only), China-Russia daily" in saved.text
        again = client.get(f"/preferences/{token}")
        assert 'value="china-us" checked' in again.text
        assert 'value="china-russia">' in again.text.replace(" >", ">")  # unticked now
    found = find_subscriber(engine, "a@example.com")
    assert found is not None
    assert found.choices == ("asia-weekly:china-us", "china-russia-daily")


def test_the_subscribe_form_narrows_and_the_outbox_follows(project: Path) -> None:
    """A reader who keeps China-U.S. alone on the subscribe form, confirmed by the link
    written to the outbox: ``press digest --outbox`` writes them only that week's China-U.S.
    post, and nothing in a week without one, while the others get the whole digest."""
    import httpx

    from newsletter.store import find_subscriber
    from newsletter.subscribers import add
    from press.mail import open_store
    from press.pipeline import run_digest
    from tests.test_web import csrf_of, link_in, serving
    from tests.waiting import wait_for

    (project / "posts" / "2022-09-15-us.md").write_text(US_POST)
    config = load_config(write(project, NARROWABLE), {"PRESS_SECRET_KEY": KEY})
    engine = open_store(config)
    add(engine, "all@example.com", ["asia-weekly"], "test", NOW, confirmed=True)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        form = client.get("/subscribe")
        answer = client.post(
            "/subscribe",
            data={"email": "us@example.com", "newsletter": "asia-weekly",
                  "categories-asia-weekly": "china-us", "csrf": csrf_of(form.text)},
        )  # fmt: skip
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        letter = config.folder("var") / "outbox" / "confirm-us@example.com.eml"
        wait_for(letter.is_file)  # written after the answer
        confirm = link_in(letter.read_bytes(), "confirm")
        page = client.get(confirm)
        assert client.post(confirm, data={"csrf": csrf_of(page.text)}).status_code == 200
    found = find_subscriber(engine, "us@example.com")
    assert found is not None and found.status == "confirmed"
    assert found.choices == ("asia-weekly:china-us",)

    def plain(path: Path) -> str:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    def outbox(week: str) -> dict[str, str]:
        folder = project / "box" / week
        run_digest(config, week, "outbox", NOW, say=lambda line: None,
                   newsletter="asia-weekly", folder=folder)  # fmt: skip
        return {p.name.split("-asia-weekly-")[1][:-4]: plain(p) for p in folder.iterdir()}

    week37 = outbox("2022-W37")
    assert sorted(week37) == ["all@example.com", "us@example.com"]
    assert "Washington Watches" in week37["us@example.com"]
    assert "China Is Becoming The Big Brother" not in week37["us@example.com"]
    assert "1 post this week" in week37["us@example.com"]
    assert "Washington Watches" in week37["all@example.com"]
    assert "China Is Becoming The Big Brother" in week37["all@example.com"]
    # 2022-W36 has China-Russia posts only: no file for who kept China-U.S. alone.
    assert sorted(outbox("2022-W36")) == ["all@example.com"]


def test_golden_subscribe_page_of_several_newsletters(project: Path, golden: Any) -> None:
    import re

    import httpx

    from tests.test_web import serving

    config = load_config(write(project, NARROWABLE), {"PRESS_SECRET_KEY": KEY})
    with serving(config) as base:
        page = httpx.get(f"{base}/subscribe").text
    page = re.sub(r'name="csrf" value="[^"]+"', 'name="csrf" value="CSRF"', page)
    golden("pages/subscribe-several-newsletters.html", page.encode())
    assert page.count('name="newsletter"') == 2
    assert page.count('name="categories-asia-weekly"') == 2
    assert 'value="asia-weekly" checked' in page  # the first, ticked on a blank form


def test_each_newsletter_has_its_web_archive_and_its_feed(project: Path) -> None:
    import feedparser

    from press.publish import publish

    config = load_config(write(project, TWO))
    publish(config, NOW)
    public = project / "public"
    weekly = feedparser.parse((public / "feeds" / "newsletter.atom.xml").read_bytes())
    daily = feedparser.parse(
        (public / "feeds" / "newsletter" / "china-russia-daily.atom.xml").read_bytes()
    )
    assert not weekly.bozo and not daily.bozo
    assert weekly.feed.title == "China-Russia and China-U.S. weekly digest – China Bystander"
    assert daily.feed.title == "China-Russia daily digest – China Bystander"
    assert daily.entries[0].link == (
        "https://chinabystander.com/newsletter/2022-09-16-china-russia-daily.html"
    )
    assert (public / "newsletter" / "2022-09-16-china-russia-daily.html").is_file()
    assert (public / "newsletter" / "2022-W37-asia-weekly.html").is_file()
    index = (public / "newsletter" / "china-russia-daily" / "index.html").read_text()
    assert "<h1>China-Russia daily</h1>" in index and "Every day's China-Russia" in index
    assert "<h1>The weekly Asia digest</h1>" in (public / "newsletter" / "index.html").read_text()
    listed = (public / "feeds" / "index.html").read_text()
    assert "/feeds/newsletter/china-russia-daily.atom.xml" in listed
    assert "/feeds/newsletter.atom.xml" in listed


def test_a_newsletter_renders_with_its_own_templates(project: Path) -> None:
    from press.digest import prepare

    templates = project / "templates"
    mjml = (templates / "digest.mjml.j2").read_text()
    (templates / "briefing.mjml.j2").write_text(mjml.replace("{{ intro }}", "BRIEFING {{ intro }}"))
    text = (templates / "digest.txt.j2").read_text()
    (templates / "briefing.txt.j2").write_text("BRIEFING\n" + text)
    config = load_config(
        write(project, TWO.replace('at = "18:30"\n', 'at = "18:30"\ntemplate = "briefing"\n'))
    )
    daily, _ = prepare(config, "2022-09-16", "china-russia-daily", NOW)
    weekly, _ = prepare(config, "2022-W37", "asia-weekly", NOW)
    assert "BRIEFING" in daily.rendered.html and daily.rendered.text.startswith("BRIEFING")
    assert "BRIEFING" not in weekly.rendered.html
