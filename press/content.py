"""Loading the project's posts: the files read by ``press``, parsed by ``feeds``."""

from __future__ import annotations

from feeds.posts import Loaded, parse_posts
from press.config import Config
from press.files import read_sources


def load_posts(config: Config) -> Loaded:
    """Every post under the posts folder, with every problem met on the way."""
    sources, unreadable = read_sources(config.folder("posts"), config.root)
    loaded = parse_posts(sources, config.site)
    return Loaded(loaded.posts, (*unreadable, *loaded.problems))
