"""The Jinja2 environment, over the templates folder named in press.toml, then press's
own templates for any the project does not have (a site overrides only what it changes,
and one with no templates folder still publishes)."""

from __future__ import annotations

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from newsletter.plaintext import wrap
from press.config import Config


def template_env(config: Config) -> Environment:
    """Autoescaping HTML environment; a missing variable is an error, not a blank."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in config.template_folders()]),
        autoescape=select_autoescape(["html", "htm", "xml", "html.j2", "mjml.j2", "xsl.j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wrap"] = wrap
    return env
