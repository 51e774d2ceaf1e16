"""Documents to PDF with WeasyPrint. Nothing is fetched from outside: a layout embeds its
images as data: URIs, and every other URL (http, file…) is refused, so a template cannot make
the server read its files or reach the network."""

from typing import Any

from django.utils.html import escape

from .layouts import render_layout_html

# Text in @page margin boxes needs its own font-family (WeasyPrint does not inherit it there).
BASE_CSS = """
@page { size: A4; margin: 18mm 15mm 20mm 15mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-family: DejaVu Sans, sans-serif; font-size: 8pt; } }
body { font-family: DejaVu Sans, sans-serif; font-size: 10pt; }
"""


def _data_only():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def html_page(layout, context: dict[str, Any]) -> str:
    body = render_layout_html(layout, context)
    title = escape(f"{context['document']['kind_label']} {context['document']['number']}".strip())
    head = f'<head><meta charset="utf-8"><title>{title}</title></head>'
    return f'<!doctype html><html lang="{layout.language}">{head}<body>{body}</body></html>'


def render_pdf(layout, context: dict[str, Any]) -> bytes:
    """The PDF of a document's ``context`` printed with ``layout``."""
    from weasyprint import CSS, HTML

    fetcher = _data_only()
    stylesheets = [CSS(string=BASE_CSS, url_fetcher=fetcher)]
    if layout.css.strip():
        stylesheets.append(CSS(string=layout.css, url_fetcher=fetcher))
    return HTML(string=html_page(layout, context), url_fetcher=fetcher, base_url=None).write_pdf(
        stylesheets=stylesheets
    )


def pdf_filename(document) -> str:
    """``VF-2025-00042.pdf``; a draft is named by its id."""
    name = (
        f"{document.journal.code}-{document.number}"
        if document.number
        else f"{document.journal.code}-draft-{document.pk}"
    )
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name) + ".pdf"
