"""Loading the project's posts: the files read by ``press``, parsed by ``feeds``."""

from __future__ import annotations

from feeds.errors import Problem
from feeds.posts import Loaded, parse_posts
from press.config import Config
from press.files import read_sources


def load_posts(config: Config) -> Loaded:
    """Every post under the posts folder, with every problem met on the way."""
    unreadable: list[Problem] = []
    loaded = parse_posts(read_sources(config.folder("posts"), config.root, unreadable), config.site)
    return Loaded(loaded.posts, (*unreadable, *loaded.problems))
