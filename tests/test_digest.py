"""The weekly digest: the week's posts, the email, its text twin, headers and outputs."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import newsletter.render
from feeds.model import Category, Site
from feeds.posts import parse_post
from newsletter.digest import (
    WeekError,
    latest_week,
    parse_week,
    previous_week,
    week_bounds,
)
from newsletter.digest import select_week as select_newsletter_week
from newsletter.message import Envelope, build_message, message_bytes
from newsletter.model import DigestSettings, Week
from newsletter.render import render_digest, week_dates
from newsletter.tokens import Signer
from press.config import load_config
from press.content import load_posts
from press.digest import DigestRun, prepare, recipient_for, write_outbox, write_preview
from press.templates import template_env
from tests.conftest import LONDON, ROOT
from tests.htmlcheck import unsafe_markup

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SEND_TIME = datetime(2022, 9, 19, 7, 0, tzinfo=LONDON)
CHINA_RUSSIA = Category("China-Russia", "china-russia")
BIG_BROTHER = "China Is Becoming The Big Brother In Its Friendship With Russia"
FULSOMENESS = "Russia’s Fulsomeness Discomforts Its Firm Friend China"
SUBJECT = "China-Russia this week: China Is Becoming The Big Brother… and 1 more"
SETTINGS = DigestSettings(
    category="China-Russia",
    sender="China Bystander <digest@chinabystander.com>",
    reply_to="",
    subject="{category} this week: {first_title}{and_more}",
    preheader="{posts} from {site}, {week_dates}",
    address="China Bystander, London, United Kingdom",
    content="summary",
    archive=True,
)


SPEC = load_config(ROOT / "press.toml").newsletters[0]  # the weekly China-Russia digest


def select_week(posts: Any, category: Category, week: Week, zone: Any) -> Any:
    """The weekly digest of one category."""
    return select_newsletter_week(posts, SPEC, (category,), week, zone)


def bundled_posts() -> tuple[Any, ...]:
    return load_posts(load_config(ROOT / "press.toml")).posts


def test_week_2022_w37_holds_two_posts() -> None:
    digest = select_week(bundled_posts(), CHINA_RUSSIA, Week(2022, 37), LONDON)
    assert [p.title for p in digest.posts] == [BIG_BROTHER, FULSOMENESS]
    w36 = select_week(bundled_posts(), CHINA_RUSSIA, Week(2022, 36), LONDON)
    assert [p.title for p in w36.posts] == ["Xi and Putin To Meet In Samarkand"]
    assert select_week(bundled_posts(), CHINA_RUSSIA, Week(2022, 38), LONDON).posts == ()


def test_latest_and_previous_weeks() -> None:
    assert latest_week(bundled_posts(), (CHINA_RUSSIA,), LONDON) == Week(2022, 37)
    assert latest_week(bundled_posts(), (Category("Nope", "nope"),), LONDON) is None
    # Monday 07:00 in London: the week just ended.
    assert previous_week(SEND_TIME, LONDON) == Week(2022, 37)
    assert previous_week(datetime(2023, 1, 2, 7, tzinfo=LONDON), LONDON) == Week(2022, 52)
    assert previous_week(datetime(2021, 1, 4, 7, tzinfo=LONDON), LONDON) == Week(2020, 53)


@pytest.mark.parametrize(
    ("text", "week"),
    [("2022-W37", Week(2022, 37)), ("2022w05", Week(2022, 5)), ("2020-W53", Week(2020, 53))],
)
def test_parse_week(text: str, week: Week) -> None:
    assert parse_week(text) == week


@pytest.mark.parametrize("text", ["2022-37", "W37", "2022-W54", "2021-W53", "2022-W00", "latest"])
def test_parse_week_refuses(text: str) -> None:
    with pytest.raises(WeekError):
        parse_week(text)


def post_at(site: Site, when: str, title: str) -> Any:
    data = f"---\ntitle: {title}\ndate: {when}\ncategories: [China-Russia]\n---\nText.\n"
    return parse_post(f"{title}.md", data.encode(), site)


def test_week_boundaries_in_london_summer_time(site: Site) -> None:
    posts = [
        post_at(site, "2022-09-12T00:00:00+01:00", "Monday midnight"),  # first instant
        post_at(site, "2022-09-11T23:59:00+01:00", "Sunday before"),
        post_at(site, "2022-09-18T23:30:00+01:00", "Sunday late"),  # 22:30 UTC, still W37
        post_at(site, "2022-09-19T00:30:00+01:00", "Monday early"),  # Sunday 23:30 UTC: W38
    ]
    digest = select_week(posts, CHINA_RUSSIA, Week(2022, 37), LONDON)
    assert [p.title for p in digest.posts] == ["Sunday late", "Monday midnight"]
    assert [p.title for p in select_week(posts, CHINA_RUSSIA, Week(2022, 38), LONDON).posts] == [
        "Monday early"
    ]


def test_weeks_that_cross_a_clock_change_are_whole_local_weeks() -> None:
    start, end = week_bounds(Week(2022, 43), LONDON)  # clocks go back on 30 October 2022
    assert (start.hour, end.hour) == (0, 0)
    # (Python subtracts datetimes of one zone by wall clock: compare in UTC.)
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 169 * 3600
    start, end = week_bounds(Week(2022, 12), LONDON)  # forward on 27 March 2022
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 167 * 3600


def render_w37(env_root: Path = ROOT) -> Any:
    config = load_config(env_root / "press.toml")
    digest = select_week(bundled_posts(), CHINA_RUSSIA, Week(2022, 37), LONDON)
    return render_digest(template_env(config), config.site, digest, SETTINGS), config


def w37_message() -> tuple[EmailMessage, bytes]:
    rendered, config = render_w37()
    envelope = Envelope(SETTINGS.sender, SEND_TIME, "China-Russia – China Bystander")
    recipient = recipient_for(config, Signer("test key"), "reader@example.com", 1)
    message = build_message(config.site, rendered, envelope, recipient)
    return message, message_bytes(message)


def test_subject_and_preheader() -> None:
    rendered, _ = render_w37()
    assert (
        rendered.subject == "China-Russia this week: China Is Becoming The Big Brother… and 1 more"
    )
    assert rendered.preheader == "2 posts from China Bystander, 12–18 September 2022"


def test_week_dates_across_months_and_years() -> None:
    def dates(week: Week) -> str:
        return week_dates(select_week([], CHINA_RUSSIA, week, LONDON))

    assert dates(Week(2022, 37)) == "12–18 September 2022"
    assert dates(Week(2022, 35)) == "29 August – 4 September 2022"
    assert dates(Week(2022, 52)) == "26 December 2022 – 1 January 2023"


def test_golden_digest(golden: Any) -> None:
    rendered, _ = render_w37()
    golden("digest/2022-W37.html", rendered.html.encode())
    golden("digest/2022-W37.txt", rendered.text.encode())
    _, raw = w37_message()
    headers = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n") + b"\n"
    golden("digest/2022-W37.headers", headers)


def test_the_message_parses_into_text_and_html() -> None:
    _, raw = w37_message()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        body = part.get_content()
        assert BIG_BROTHER in body and FULSOMENESS in body
    assert (
        parsed["Subject"] == "China-Russia this week: China Is Becoming The Big Brother… and 1 more"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = parsed["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://chinabystander.com/unsubscribe/")
    # The mailto: is the reader's own address (press bounces reads it): signed, like the link.
    assert re.search(
        r", <mailto:unsubscribe\+\d+-[a-z2-7]{16}@chinabystander\.com\?subject=unsubscribe>$",
        unsubscribe,
    )
    assert parsed["List-Id"] == "China-Russia – China Bystander <china-russia.chinabystander.com>"
    assert parsed["Message-ID"].startswith("<2022-W37-china-russia.")
    assert parsed["Date"] == "Mon, 19 Sep 2022 07:00:00 +0100"
    html = parts[1].get_content()
    text = parts[0].get_content()
    token = unsubscribe.split("/unsubscribe/")[1].split(">")[0]
    assert token in html and token in text
    assert "__PRESS_" not in html + text
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998


def test_message_id_is_stable_per_recipient() -> None:
    rendered, config = render_w37()
    envelope = Envelope(SETTINGS.sender, SEND_TIME, "List")
    signer = Signer("k")

    def mid(address: str) -> str:
        recipient = recipient_for(config, signer, address, 7)
        return str(build_message(config.site, rendered, envelope, recipient)["Message-ID"])

    assert mid("a@example.com") == mid("A@Example.com") != mid("b@example.com")


def test_html_email_is_safe_and_shaped_for_email() -> None:
    rendered, _ = render_w37()
    html = rendered.html
    # Email HTML has its own <meta>, <style> and style attributes; nothing that runs.
    allowed = ("<meta>", "<style>")
    assert [f for f in unsafe_markup(html) if f not in allowed and not f.endswith("@style")] == []
    assert "max-width:600px" in html
    assert 'lang="en"' in html
    assert "fonts.googleapis" not in html
    assert "https://chinabystander.com/newsletter/2022-W37-china-russia.html" in html
    assert "prefers-color-scheme: dark" in html
    assert "China Bystander, London, United Kingdom" in html
    assert ">1 comment<" in html and ">Leave a comment<" in html
    for line in rendered.text.splitlines():
        assert len(line) <= 72 or line.split()[-1].startswith("https://"), line


def hostile_digest(site: Site, title: str) -> Any:
    post = post_at(site, "2022-09-14T09:00:00+01:00", '"x"')
    post = type(post)(**{**post.__dict__, "title": title})
    return select_week([post], CHINA_RUSSIA, Week(2022, 37), LONDON)


def test_a_title_cannot_inject_headers(site: Site) -> None:
    config = load_config(ROOT / "press.toml")
    digest = hostile_digest(site, "Hello\r\nBcc: victim@example.com\r\nX-Evil: 1")
    rendered = render_digest(template_env(config), site, digest, SETTINGS)
    recipient = recipient_for(config, Signer("k"), "reader@example.com\r\nBcc: x@example.com", 1)
    message = build_message(site, rendered, Envelope(SETTINGS.sender, SEND_TIME, "L"), recipient)
    raw = message_bytes(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "\n" not in str(parsed["Subject"]) and "Bcc" in str(parsed["Subject"])
    headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(h.lower().startswith((b"bcc:", b"x-evil:")) for h in headers)


def test_titles_are_escaped_as_text(site: Site) -> None:
    config = load_config(ROOT / "press.toml")
    digest = hostile_digest(site, "<script>alert(1)</script> & Friends")
    rendered = render_digest(template_env(config), site, digest, SETTINGS)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Friends" in rendered.html
    assert "<script>" not in rendered.html
    assert "<script>alert(1)</script> & Friends" in rendered.text


def test_mjml_compiles_once_however_many_recipients(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = newsletter.render.mjml2html

    def counting(source: str, **options: Any) -> Any:
        calls.append(len(source))
        return real(source, **options)

    monkeypatch.setattr(newsletter.render, "mjml2html", counting)
    config = load_config(project / "press.toml")
    run, _ = prepare(config, "2022-W37", None, NOW)
    emails = [(f"reader{i}@example.com", i) for i in range(50)]
    paths = write_outbox(run, project / "outbox", Signer("k"), emails)
    assert len(paths) == 50 and len(calls) == 1
    bodies = {p.read_bytes() for p in paths}
    assert len(bodies) == 50  # each has its own links and Message-ID


def test_full_text_setting(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace('content = "summary"', 'content = "full"'))
    run, _ = prepare(load_config(toml), "2022-W37", None, NOW)
    assert "There is precious little of substance" in run.rendered.html
    assert "> China understands and supports Russia" in run.rendered.text


def test_preview_writes_three_files(project: Path) -> None:
    run, _ = prepare(load_config(project / "press.toml"), "2022-W37", None, NOW)
    paths = write_preview(run, project / "out", Signer("k"))
    assert sorted(p.name for p in paths) == ["digest.eml", "digest.html", "digest.txt"]
    parsed = email.message_from_bytes(
        (project / "out/digest.eml").read_bytes(), policy=email.policy.default
    )
    assert parsed["To"] == "reader@example.com"


def test_a_digest_run_is_plain_data(project: Path) -> None:
    run, posts = prepare(load_config(project / "press.toml"), "latest", "china-us", NOW)
    assert isinstance(run, DigestRun)
    assert [c.name for c in run.digest.categories] == ["China-U.S."]  # by hand: as spelt
    assert run.digest.key == "2022-W21-china-us"
    assert [p.title for p in run.digest.posts] == [
        "China And Russia Fly Too Close For The Quad’s Comfort"
    ]
    assert len(posts) == 10


@pytest.mark.parametrize("width", [375, 600])
def test_the_email_fits_a_phone_without_scrolling_sideways(width: int) -> None:
    from tests.browser import scroll_width

    rendered, _ = render_w37()
    assert scroll_width(rendered.html, width) <= width


def test_the_width_check_can_fail() -> None:
    from tests.browser import scroll_width

    wide = '<html><body><div style="width:900px">wide</div></body></html>'
    assert scroll_width(wide, 375) > 375


def test_publish_writes_web_copies_and_their_index(project: Path) -> None:
    from press.publish import publish

    publish(load_config(project / "press.toml"), NOW)
    folder = project / "public" / "newsletter"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "2022-W05-china-russia.html", "2022-W08-china-russia.html", "2022-W10-china-russia.html",
        "2022-W11-china-russia.html", "2022-W15-china-russia.html", "2022-W21-china-russia.html",
        "2022-W36-china-russia.html", "2022-W37-china-russia.html", "index.html",
    ]  # fmt: skip
    copy = (folder / "2022-W37-china-russia.html").read_text()
    assert BIG_BROTHER in copy and "/unsubscribe/" not in copy and "__PRESS_" not in copy
    assert "https://chinabystander.com/subscribe" in copy
    index = (folder / "index.html").read_text()
    assert index.index("12–18 September 2022") < index.index("5–11 September 2022")


def test_the_current_week_has_no_web_copy_yet(project: Path) -> None:
    from press.publish import publish

    publish(load_config(project / "press.toml"), datetime(2022, 9, 15, 12, tzinfo=UTC))
    names = sorted(p.name for p in (project / "public" / "newsletter").iterdir())
    assert "2022-W37-china-russia.html" not in names and "2022-W36-china-russia.html" in names


def test_spliced_copies_are_byte_identical_to_full_builds() -> None:
    from newsletter.splice import Splicer

    rendered, config = render_w37()
    envelope = Envelope(SETTINGS.sender, SEND_TIME, "China-Russia – China Bystander")
    splicer = Splicer(config.site, rendered, envelope)
    signer = Signer("test key")
    addresses = [f"reader{i}@example.com" for i in range(30)] + ["jörg@exämple.de"]
    addresses += [f"{'x' * n}@example.com" for n in range(1, 64, 7)]  # links of every length
    for number, address in enumerate(addresses):
        recipient = recipient_for(config, signer, address, number * 997)  # ids of every length
        assert splicer.compose(recipient) == splicer.full(recipient), address
    assert splicer.checked is True  # the fast path was taken, not abandoned
    # Each copy encodes only the lines with the recipient's own links.
    for body in (splicer.html, splicer.text):
        personal = [piece for piece in body.pieces if isinstance(piece, tuple)]
        assert 1 <= len(personal) <= 3 and len(body.pieces) <= 2 * len(personal) + 1
    # ...and those lines are short: the footer's links are not on the last post's line.
    encoded = sum(len(piece[0]) for piece in splicer.html.pieces if isinstance(piece, tuple))
    assert encoded < 400, encoded


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<div><p>a</p><p><a href="__PRESS_UNSUBSCRIBE_URL__">x</a></p><p>b</p></div>',
         '<div><p>a</p>\n<p><a href="__PRESS_UNSUBSCRIBE_URL__">x</a></p>\n<p>b</p></div>'),
        # two paragraphs of links, and one already on its own line
        ('<p class="f"><a href="__PRESS_PREFERENCES_URL__">p</a></p><p>'
         '<a href="__PRESS_UNSUBSCRIBE_URL__">u</a></p>\n',
         '\n<p class="f"><a href="__PRESS_PREFERENCES_URL__">p</a></p>\n<p>'
         '<a href="__PRESS_UNSUBSCRIBE_URL__">u</a></p>\n'),
        # a link outside any paragraph is left where it is
        ('<p>a</p><td><a href="__PRESS_UNSUBSCRIBE_URL__">x</a></td>',
         '<p>a</p><td><a href="__PRESS_UNSUBSCRIBE_URL__">x</a></td>'),
        ("<p>no links</p>", "<p>no links</p>"),
    ],
)  # fmt: skip
def test_own_lines_puts_the_personal_paragraphs_on_lines_of_their_own(
    html: str, expected: str
) -> None:
    from newsletter.render import own_lines

    assert own_lines(html) == expected
