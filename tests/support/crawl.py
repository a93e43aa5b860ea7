"""Walking a signed-in person's pages by their links, and reading what a person sees there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from aiohttp.test_utils import TestClient

# Attributes a person reads or hears (screen readers), as service.i18n.markup translates them.
READ_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label"})
# Links a crawl must not follow: they change state on GET or leave the person's pages.
_SKIP = ("/sign-out", "/static/", "/api/", "/healthz")


class VisibleText(HTMLParser):
    """The text nodes and read-aloud attribute values of a page (no scripts, no styles)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip_depth += 1
        values = dict(attrs)
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.texts.append(values[name] or "")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.texts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and data.strip():
            self.texts.append(data.strip())


def read_page(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser


@dataclass
class Crawl:
    pages: dict[str, VisibleText] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


async def crawl(
    client: TestClient,
    start: str,
    headers: dict[str, str],
    *,
    limit: int = 60,
    follow: Callable[[str], bool] = lambda path: True,
    on_page: Callable[[str, str], Awaitable[None]] | None = None,
) -> Crawl:
    """Every HTML page reachable from ``start`` by links (GET only), breadth first."""
    found = Crawl()
    queue, seen = [start], {start}
    while queue and len(found.pages) < limit:
        path = queue.pop(0)
        response = await client.get(path, headers=headers)
        found.statuses[path] = response.status
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        html = await response.text()
        page = read_page(html)
        found.pages[path] = page
        if on_page is not None:
            await on_page(path, html)
        for href in page.links:
            link, _ = urldefrag(href)
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if "lang=" in parts.query or target.startswith(_SKIP) or target in seen:
                continue
            if not follow(target):
                continue
            seen.add(target)
            queue.append(target)
    return found
