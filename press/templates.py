"""The Jinja2 environment, over the templates folder named in press.toml, then press's
own templates for any the project does not have (a site overrides only what it changes,
and one with no templates folder still publishes)."""

from __future__ import annotations

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from newsletter.plaintext import wrap
from press.config import Config


def template_env(config: Config, auto_reload: bool = False) -> Environment:
    """Autoescaping HTML environment; a missing variable is an error, not a blank.

    A publish makes one for itself and reads each template once (asking the file system
    whether each had changed, at every page, cost a tenth of a cold publish of pages);
    ``auto_reload`` for a server that lives on while the templates are edited."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in config.template_folders()]),
        auto_reload=auto_reload,
        autoescape=select_autoescape(["html", "htm", "xml", "html.j2", "mjml.j2", "xsl.j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wrap"] = wrap
    return env
