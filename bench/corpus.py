"""A seeded corpus of posts for the benchmark, in press's format and as a Hugo site.

python bench/corpus.py N OUT      # OUT/press (posts/, press.toml) and OUT/hugo
"""

from __future__ import annotations

import random
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

_WORDS = """china russia trade beijing moscow summit sanctions energy gas pipeline yuan dollar
    exports imports tariff policy minister president party congress security alliance
    partnership border region central asia ukraine war diplomacy economy growth market
    investment technology chips supply chain agriculture wheat grain oil coal shipping
    port railway belt road bank currency reserves inflation data quarter record analysts
    officials statement readout meeting visit talks agreement framework cooperation"""
WORDS = tuple(_WORDS.split())
CATEGORIES = [f"Topic {i:02}" for i in range(1, 29)] + ["China-Russia", "China-U.S."]
START = datetime(2015, 1, 1, 9, tzinfo=UTC)


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 22))
    if rng.random() < 0.2:
        i = rng.randrange(len(words))
        words[i] = f"[{words[i]}](https://example.com/{rng.choice(WORDS)}/{rng.randint(1, 999)})"
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


def body(rng: random.Random) -> str:
    """About 700 words: paragraphs, a block quote, a list, links."""
    parts: list[str] = []
    words = 0
    while words < 700:
        roll = rng.random()
        if roll < 0.1:
            text = "> " + paragraph(rng)
        elif roll < 0.18:
            text = "\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(2, 5)))
        else:
            text = paragraph(rng)
        parts.append(text)
        words += len(text.split())
    parts[0] = parts[0].lstrip("> -")
    return "\n\n".join(parts) + "\n"


def generate(count: int, out: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    press, hugo = out / "press", out / "hugo"
    for folder in (press, hugo):
        if folder.exists():
            shutil.rmtree(folder)
    (press / "posts").mkdir(parents=True)
    (hugo / "content" / "posts").mkdir(parents=True)
    span = int(timedelta(days=3650).total_seconds())
    for i in range(count):
        title = " ".join(rng.choices(WORDS, k=rng.randint(4, 9))).title() + f" {i}"
        when = START + timedelta(seconds=rng.randrange(span))
        categories = rng.sample(CATEGORIES, rng.randint(1, 4))
        text = body(rng)
        listed = ", ".join(f'"{c}"' for c in categories)
        name = f"{when:%Y-%m-%d}-post-{i:05}.md"
        (press / "posts" / name).write_text(
            f'---\ntitle: "{title}"\ndate: {when.isoformat()}\ncategories: [{listed}]\n'
            f"comments: {rng.randint(0, 9)}\n---\n{text}",
            encoding="utf-8",
        )
        (hugo / "content" / "posts" / name).write_text(
            f'---\ntitle: "{title}"\ndate: {when.isoformat()}\ncategories: [{listed}]\n---\n{text}',
            encoding="utf-8",
        )
    (press / "press.toml").write_text(
        '[site]\ntitle = "Bench"\nurl = "https://bench.example"\nauthor = "Bench"\n'
        'timezone = "UTC"\n\n[feeds]\nformats = ["rss"]\nitems = 50\n'
    )
    # Hugo: only the home and category RSS feeds, with the same item limit. (Disabling
    # the "page" kind would drop the posts from the feeds too: give pages no output.)
    (hugo / "hugo.toml").write_text(
        'baseURL = "https://bench.example/"\ntitle = "Bench"\n'
        'disableKinds = ["section", "sitemap", "robotsTXT", "404"]\n'
        '[taxonomies]\ncategory = "categories"\n'
        '[outputs]\nhome = ["rss"]\npage = []\nterm = ["rss"]\ntaxonomy = []\n'
        "[services.rss]\nlimit = 50\n"
    )


if __name__ == "__main__":
    generate(int(sys.argv[1]), Path(sys.argv[2]))
