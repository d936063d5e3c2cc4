"""The Jinja2 environment, over the templates folder named in press.toml."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from newsletter.plaintext import wrap
from press.config import Config


def template_env(config: Config) -> Environment:
    """Autoescaping HTML environment; a missing variable is an error, not a blank."""
    env = Environment(
        loader=FileSystemLoader(config.folder("templates")),
        autoescape=select_autoescape(["html", "htm", "xml", "html.j2", "mjml.j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wrap"] = wrap
    return env
