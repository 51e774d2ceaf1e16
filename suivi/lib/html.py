"""Sanitising HTML written by users (rich text descriptions, later e-mail bodies)."""

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "a",
    "blockquote",
    "h3",
    "h4",
    "code",
    "pre",
    "span",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"title"}}


def sanitise(html: str) -> str:
    """Keep formatting, drop scripts, event handlers, styles and unsafe links."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
