"""What a browser would act on in one of our pages: tags, live attributes, inline code and the CSP it runs under."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser


class PageParts(HTMLParser):
    """Every element and attribute a browser would act on (text content is inert), and the inline code."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.dangerous: list[tuple[str, str, str]] = []  # event handlers and javascript: URLs
        self.styled: list[str] = []  # style attributes: a CSP hash never covers them
        self.inline: list[tuple[str, str]] = []  # (script or style, its text)
        self.policy: dict[str, list[str]] = {}
        self._open: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript"):
                self.dangerous.append((tag, name, value))
            if name == "style":
                self.styled.append(tag)
        found = dict(attrs)
        if tag == "meta" and (found.get("http-equiv") or "").lower() == "content-security-policy":
            for directive in (found.get("content") or "").split(";"):
                name, *sources = directive.split()
                self.policy[name] = sources
        if tag in ("script", "style"):
            self._open = tag
            self.inline.append((tag, ""))

    def handle_endtag(self, tag):
        self._open = None

    def handle_data(self, data):
        if self._open:  # inside <script> and <style> the parser hands the raw text, entities untouched
            kind, text = self.inline[-1]
            self.inline[-1] = (kind, text + data)

    def uncovered(self) -> list[str]:
        """Inline scripts and styles the page's Content-Security-Policy does not allow by their hash."""
        missing = []
        for kind, text in self.inline:
            digest = "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
            if digest not in self.policy.get(f"{kind}-src", []):
                missing.append(f"<{kind}> {text[:60]!r}")
        return missing
