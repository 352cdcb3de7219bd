"""Every HTML page coursekit writes (the site, feedback pages, the report) comes from Jinja2 templates.

One environment factory, so every page gets the same rules: autoescaping (the one escaper: every
value is text unless it is ``Markup``), ``StrictUndefined`` (a misspelt name fails the render
instead of leaving a blank), and templates loaded from the package, so an installed wheel has them.
The ``markdown`` filter is the one place student text is marked safe, and only after nh3 sanitised it.

The page head is ``base.html``'s: it renders a page's inline ``style`` and ``script`` blocks first
and puts their hashes in the Content-Security-Policy (``content_policy``), so a changed script is
allowed by the policy it ships with, and nothing else inline can run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import cache

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from coursekit.discussion.render import posted_at, safe_html

HOME = "coursekit.discussion"  # where base.html and the site's templates live
POST_IMAGES = "data:"  # posts show their re-encoded images inline; the sanitizer lets no other data: URI through


def markdown(text: str, images: Mapping[str, str] | None = None) -> Markup:
    """Student (or reading) Markdown as sanitised HTML: the one value templates print unescaped."""
    return Markup(safe_html(text, images))


def csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def content_policy(style: str, script: str = "", img_src: str = "'none'") -> Markup:
    """A Content-Security-Policy allowing only this page's own inline style and script (by hash).

    ``img_src`` is where images may come from: ``'self'`` for files beside the page (the report's
    plots), ``data:`` for pages with posts (their images are inline), ``'none'`` otherwise. The policy
    is built from hashes and these constants only, so it is printed as it is.
    """
    policy = f"default-src 'none'; img-src {img_src}; base-uri 'none'; form-action 'none'; style-src {csp_hash(style)}"
    return Markup(policy + (f"; script-src {csp_hash(script)}" if script else ""))


@cache
def environment(package: str = HOME) -> Environment:
    """The Jinja2 environment of a room's templates (``coursekit.review``), which may extend ``base.html``."""
    loaders = [PackageLoader(package)] + ([PackageLoader(HOME)] if package != HOME else [])
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["markdown"] = markdown
    env.filters["date"] = posted_at
    env.globals.update(content_policy=content_policy, POST_IMAGES=POST_IMAGES)
    return env


def render(template: str, package: str = HOME, **context: object) -> str:
    """One page (or fragment) from ``package``'s templates."""
    return environment(package).get_template(template).render(**context)
