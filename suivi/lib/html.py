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


# Printed documents (layouts): the structure a layout needs (tables, blocks, classes for its
# CSS), still no script, no style attribute (CSS stays in the layout's own field), no link
# that fetches anything (images only as data: URIs).
DOCUMENT_TAGS = ALLOWED_TAGS | {
    "div",
    "section",
    "header",
    "footer",
    "article",
    "aside",
    "h1",
    "h2",
    "h5",
    "h6",
    "hr",
    "small",
    "sub",
    "sup",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "colgroup",
    "col",
    "img",
    "dl",
    "dt",
    "dd",
}
DOCUMENT_ATTRIBUTES = {
    "*": {"class", "id", "lang"},
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "img": {"src", "alt", "width", "height"},
}


def sanitise_document(html: str) -> str:
    """Keep the structure and classes of a printed document; drop scripts, styles, handlers
    and every URL but data: images and plain links."""
    return nh3.clean(
        html or "",
        tags=DOCUMENT_TAGS,
        attributes=DOCUMENT_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel", "data"},
        link_rel="noopener noreferrer",
    )
