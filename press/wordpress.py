"""``press import wordpress``: a WordPress export (WXR) into posts/, streamed.

The file is read twice with lxml's iterparse, never held whole: once for the authors and
the attachments (a post's featured image may come after it), once for the posts. Each
item is cleared as soon as it is read, so 50,000 items take the memory of one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from feeds.comments import comments_path
from feeds.wordpress import Attachment, Converted, SkipItem, WxrComment, WxrItem, convert
from press.write import write_atomic

CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
STATE = "import-wordpress.json"


class NotWxr(Exception):
    """The file is not a WordPress export, or breaks off; the message says where in the
    file (``12: …`` for a line), and the caller names the file."""


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    drafts: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # "item 3 (line 40): no title"
    warnings: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)  # edited since the last import


def _local(tag: Any) -> tuple[str, str]:
    """(namespace, local name) of an lxml tag."""
    text = str(tag)
    if text.startswith("{"):
        namespace, _, name = text[1:].partition("}")
        return namespace, name
    return "", text


def _is_wp(namespace: str) -> bool:
    # WXR 1.0-1.2, named with http:// in older files and https:// in newer ones.
    return namespace.split("://", 1)[-1].startswith("wordpress.org/export/1.")


def _child(item: Any, name: str, wp: bool = False, namespace: str = "") -> str:
    for child in item:
        child_ns, child_name = _local(child.tag)
        if child_name == name and (_is_wp(child_ns) if wp else child_ns == namespace):
            return str(child.text or "")
    return ""


def _items(path: Path) -> Iterator[tuple[int, Any]]:
    """Each ``<item>`` element with its position; checks that this is a WXR file."""
    with path.open("rb") as handle:
        yield from _parse_items(path, handle)


def _parse_items(path: Path, handle: Any) -> Iterator[tuple[int, Any]]:
    seen_wxr = False
    position = 0
    try:
        for event, element in etree.iterparse(
            handle,
            events=("start", "end"),
            recover=False,
            huge_tree=True,
            resolve_entities=False,
        ):
            namespace, name = _local(element.tag)
            if event == "start":
                if name == "wxr_version" and _is_wp(namespace):
                    seen_wxr = True
                continue
            if name == "item" and not namespace:
                if not seen_wxr:
                    raise NotWxr("not a WordPress export (no wp:wxr_version before the items)")
                position += 1
                yield position, element
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError as error:
        line = error.position[0] if error.position else "?"
        raise NotWxr(f"{line}: the XML breaks off or is not valid: {error.msg}") from None
    if not seen_wxr:
        raise NotWxr("not a WordPress export (no wp:wxr_version)")


def _read_item(position: int, element: Any) -> WxrItem:
    item = WxrItem(position=position, line=element.sourceline)
    item.title = _child(element, "title")
    item.guid = _child(element, "guid")
    item.link = _child(element, "link")
    item.creator = _child(element, "creator", namespace=DC)
    item.content = _child(element, "encoded", namespace=CONTENT)
    for key in ("post_id", "post_date", "post_date_gmt", "post_name", "status", "post_type"):
        setattr(item, key, _child(element, key, wp=True))
    item.modified_gmt = _child(element, "post_modified_gmt", wp=True)
    item.password = _child(element, "post_password", wp=True)
    for child in element:
        namespace, name = _local(child.tag)
        if name == "category" and not namespace and child.text:
            domain = child.get("domain")
            if domain == "category":
                item.categories.append(child.text.strip())
            elif domain == "post_tag":
                item.tags.append(child.text.strip())
        elif name == "comment" and _is_wp(namespace):
            approved = _child(child, "comment_approved", wp=True).strip() == "1"
            if approved and _child(child, "comment_type", wp=True).strip() in ("", "comment"):
                item.comments.append(_comment(child))
        elif name == "postmeta" and _is_wp(namespace):
            if _child(child, "meta_key", wp=True) == "_thumbnail_id":
                item.thumbnail_id = _child(child, "meta_value", wp=True).strip()
        elif name == "encoded" and "excerpt" in namespace:
            item.excerpt = str(child.text or "")
    item.categories = list(dict.fromkeys(item.categories))
    item.tags = list(dict.fromkeys(item.tags))
    return item


def _first_pass(path: Path) -> tuple[dict[str, str], dict[str, Attachment], int]:
    """The authors (login to display name), attachments (id to URL and caption), and
    how many items there are."""
    if path.stat().st_size == 0:
        raise NotWxr("the file is empty (export again from Tools → Export in WordPress)")
    with path.open("rb") as handle:
        try:
            return _collect(handle)
        except etree.XMLSyntaxError as error:
            line = error.position[0] if error.position and error.position[0] else 1
            raise NotWxr(f"{line}: not XML: {error.msg}") from None


def _collect(handle: Any) -> tuple[dict[str, str], dict[str, Attachment], int]:
    authors: dict[str, str] = {}
    attachments: dict[str, Attachment] = {}
    items = 0
    for _, element in etree.iterparse(
        handle, events=("end",), huge_tree=True, resolve_entities=False, recover=True
    ):
        namespace, name = _local(element.tag)
        if name == "author" and _is_wp(namespace):
            login = _child(element, "author_login", wp=True)
            authors[login] = _child(element, "author_display_name", wp=True) or login
            element.clear()
        elif name == "item" and not namespace:
            items += 1
            if _child(element, "post_type", wp=True) == "attachment":
                attachments[_child(element, "post_id", wp=True)] = _attachment(element)
            element.clear()
    return authors, attachments, items


def _comment(element: Any) -> WxrComment:
    return WxrComment(
        id=_child(element, "comment_id", wp=True),
        author=_child(element, "comment_author", wp=True),
        url=_child(element, "comment_author_url", wp=True),
        date_gmt=_child(element, "comment_date_gmt", wp=True),
        date=_child(element, "comment_date", wp=True),
        parent=_child(element, "comment_parent", wp=True),
        content=_child(element, "comment_content", wp=True),
    )


def _attachment(element: Any) -> Attachment:
    excerpt, alt = "", ""
    for child in element:
        namespace, name = _local(child.tag)
        if name == "encoded" and "excerpt" in namespace:
            excerpt = str(child.text or "")
        elif (
            name == "postmeta"
            and _is_wp(namespace)
            and _child(child, "meta_key", wp=True) == "_wp_attachment_image_alt"
        ):
            alt = _child(child, "meta_value", wp=True).strip()
    order = _child(element, "menu_order", wp=True).strip()
    return Attachment(
        _child(element, "attachment_url", wp=True) or _child(element, "guid"),
        caption=excerpt,
        alt=alt,
        parent=_child(element, "post_parent", wp=True).strip(),
        order=int(order) if order.lstrip("-").isdigit() else 0,
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _known_files(into: Path) -> dict[str, Path]:
    """guid to file for posts that carry a guid (when the import record is gone)."""
    found: dict[str, Path] = {}
    for path in sorted(into.glob("*.md")):
        head = path.read_text(encoding="utf-8", errors="replace").split("\n---", 1)[0]
        for line in head.splitlines():
            if line.startswith("guid:"):
                found[line[5:].strip().strip('"').replace('\\"', '"')] = path
    return found


def import_wordpress(
    path: Path,
    into: Path,
    var: Path,
    zone: ZoneInfo,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    """Import every post of a WXR file into ``into``; safe to run again. ``progress``
    hears of each item read (how many, of how many).

    A post already imported (same guid) is updated in place, never duplicated; a file
    changed since the importer wrote it is left alone and reported.
    """
    report = ImportReport()
    record_path = var / STATE
    try:
        record: dict[str, dict[str, str]] = json.loads(record_path.read_text())
    except (FileNotFoundError, ValueError):
        record = {}
    on_disk = _known_files(into) if into.is_dir() else {}
    guids: dict[str, str] = {}  # a post's guid: where in the export it was first
    claimed: dict[str, str] = {}  # a file name: the key of the item that has it this run
    numbers: dict[str, int] = {}  # a file name wanted twice: the next number to try
    try:
        authors, attachments, count = _first_pass(path)
        for position, element in _items(path):
            progress(position, count)
            item = _read_item(position, element)
            warnings: list[str] = []
            if item.post_type == "post" and item.guid:
                _one_guid(item, guids, warnings)
            try:
                post = convert(item, authors, attachments, zone, warnings)
                post = _own_name(post, item, (claimed, numbers), authors, attachments, zone)
                warnings += [post.renamed] if post.renamed else []
            except SkipItem as reason:
                text = str(reason)
                if text in ("no date", "no slug can be made from the title"):
                    report.problems.append(f"{item.where}: {text}")
                else:
                    if text == "password-protected":
                        report.warnings.append(
                            f"{item.where}: {item.title!r} is password-protected; skipped"
                        )
                    report.skipped[text] = report.skipped.get(text, 0) + 1
                continue
            report.warnings += [f"{item.where}: {w}" for w in warnings]
            _write(post, into, record, on_disk, report)
    except NotWxr as error:
        report.problems.append(str(error))
    finally:
        if record:
            write_atomic(record_path, json.dumps(record, indent=1, sort_keys=True).encode())
    return report


def _one_guid(item: WxrItem, guids: dict[str, str], warnings: list[str]) -> None:
    """A post whose guid an earlier post has (duplicated in WordPress, or imported
    twice) keeps both: the first has the guid as its feed id, this one an id made from
    the guid and its own post id, the same on every import."""
    first = guids.setdefault(item.guid, item.where)
    if first == item.where:
        return
    derived = f"{item.guid}#wp-{item.post_id.strip() or item.position}"
    warnings.append(f"its guid {item.guid} is also {first}'s; its feed id is {derived}")
    item.guid = derived


def _own_name(
    post: Converted,
    item: WxrItem,
    names: tuple[dict[str, str], dict[str, int]],
    authors: dict[str, str],
    attachments: dict[str, Attachment],
    zone: ZoneInfo,
) -> Converted:
    """The post with a file name (and slug, so a URL) no other item of this import has:
    a second post of the same day and slug gets ``-2`` and on, in export order, so the
    same post gets the same name on every run."""
    claimed, numbers = names
    if claimed.setdefault(post.name, post.key) == post.key:
        return post
    day = post.name.removesuffix(f"{post.slug}.md")  # "2022-10-07-"
    number = numbers.get(post.name, 2)  # where the last one stopped: no quadratic search
    while f"{day}{post.slug}-{number}.md" in claimed:
        number += 1
    numbers[post.name] = number + 1
    item.post_name = f"{post.slug}-{number}"
    post = convert(item, authors, attachments, zone, [])
    claimed[post.name] = post.key
    message = f"another post has its day and slug; this one's slug is {post.slug}"
    return replace(post, renamed=message)


def _write(
    post: Converted,
    into: Path,
    record: dict[str, dict[str, str]],
    on_disk: dict[str, Path],
    report: ImportReport,
) -> None:
    """Write one post where the record (by the item's post id) or, without one, its
    guid on disk says it is, and its comments file beside it; a file edited since press
    wrote it is left alone."""
    key = post.key
    known = record.get(key)
    if known is None and post.guid in record:  # a record from before post ids
        known = record[key] = record.pop(post.guid)
    target = into / (known["path"] if known else post.name)
    if known is None and post.guid in on_disk:
        target = on_disk[post.guid]
    outcome = _put(target, post.text, record, key)
    getattr(report, outcome).append(target.name)
    if outcome != "unchanged":
        report.drafts += int(post.draft and outcome != "left_alone")
    comments = Path(comments_path(str(target)))
    if post.comments:
        if _put(comments, post.comments, record, f"{key}#comments") == "left_alone":
            report.left_alone.append(comments.name)
    elif comments.exists() and _ours(comments, record.get(f"{key}#comments")):
        comments.unlink()  # every comment gone from WordPress: gone here too
        record.pop(f"{key}#comments", None)


def _put(target: Path, text: str, record: dict[str, dict[str, str]], key: str) -> str:
    """Write ``text`` to ``target`` unless it is there already, or was edited since
    press wrote it (the record's hash): "imported", "updated", "unchanged", "left_alone"."""
    known = record.get(key)
    if target.exists():
        current = target.read_text(encoding="utf-8")
        if current == text:
            record[key] = {"path": target.name, "sha256": _sha(text)}
            return "unchanged"
        if not _ours(target, known, current):
            return "left_alone"
        outcome = "updated"
    else:
        outcome = "imported"
    write_atomic(target, text.encode("utf-8"))
    record[key] = {"path": target.name, "sha256": _sha(text)}
    return outcome


def _ours(target: Path, known: dict[str, str] | None, current: str | None = None) -> bool:
    """Whether ``target`` is as press last wrote it (nobody edited it since)."""
    if known is None:
        return False
    text = target.read_text(encoding="utf-8") if current is None else current
    return _sha(text) == known["sha256"]
