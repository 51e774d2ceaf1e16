"""The document page's linked actions (S16) and its *why was no action generated?* line (S13),
as a tag, so that the page's view stays as it is."""

from django import template

from suivi.core.company import company_settings
from suivi.sales import links

register = template.Library()


@register.inclusion_tag("web/linked/_document_actions.html", takes_context=True)
def linked_actions(context, document):
    request = context["request"]
    return {
        "document": document,
        "actions": links.linked_actions(request.user, document),
        "why": links.why_no_action(document),
        "crm_enabled": company_settings(request).crm_enabled,
    }
