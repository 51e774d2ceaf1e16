"""The messages of an e-mailing (``mailing_sender``): each recipient's mail composed from the
e-mailing's template, merge fields, files and unsubscribe headers."""

import logging
import re
import smtplib
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import translation
from django.utils.translation import gettext as _

from suivi.activities import attachments as files
from suivi.lib.html import sanitise
from suivi.lib.network import DestinationRefused
from suivi.lib.sandbox import render_within_limits
from suivi.lib.text import one_line
from suivi.lib.user_templates import FAILURES, TEMPLATE_NAME, problem_of

from . import templates
from .mailing_services import (
    Candidate,
    html_environment,
    unsubscribe_url,
    usable_address,
)
from .mailings import (
    Mailing,
    MailingRecipient,
)
from .parsing import _html_to_text, _sanitised_html
from .sending import smtp_connection, smtp_reason

logger = logging.getLogger(__name__)


# --- building the messages -----------------------------------------------------------------------------


class PreparationFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Built:
    message: EmailMultiAlternatives
    subject: str
    html: str
    text: str


_LINK = re.compile(r'<a\s[^>]*href="([^"]+)"[^>]*>(.*?)</a>', re.I | re.S)


def _text_of(html: str) -> str:
    """The text alternative of a sanitised HTML body; links keep their address."""

    def link(match: re.Match) -> str:
        href, inner = match.group(1), match.group(2)
        return inner if href in inner or href.startswith("mailto:") else f"{inner} ({href})"

    return _html_to_text(_sanitised_html(_LINK.sub(link, html)))


class Composer:
    """The mails of one e-mailing: its templates compiled once, its files read once."""

    def __init__(self, mailing: Mailing):
        self.mailing = mailing
        self.author = mailing.author
        self.language = self.author.language or settings.LANGUAGE_CODE
        self.subject_template = self._compile(templates.environment(), mailing.subject)
        self.body_template = self._compile(html_environment(), mailing.body)
        self.sender = str(Address(display_name=one_line(mailing.sender_name), addr_spec=mailing.sender_address))
        self.envelope_from = mailing.envelope_from or mailing.sender_address
        self.files: list[tuple[str, bytes, str]] = []
        for attachment in mailing.attachments.all():
            try:
                with files.storage().open(attachment.file, "rb") as handle:
                    self.files.append((attachment.name, handle.read(), attachment.content_type))
            except Exception as e:  # a file gone from the store: nothing can be sent as written
                logger.exception("E-mailing %s: attachment %s unreadable", mailing.pk, attachment.pk)
                raise PreparationFailed(
                    _("the file %(name)s cannot be read from the file store") % {"name": attachment.name}
                ) from e
        self.domain = mailing.sender_address.rsplit("@", 1)[-1] or "suivi.invalid"
        self._people: dict[tuple[str, int], Any] = {}

    def _compile(self, env, source: str):
        try:
            code = env.compile(source, name=TEMPLATE_NAME, filename=TEMPLATE_NAME)
            return env.template_class.from_code(env, code, env.make_globals(None), None)
        except FAILURES as e:
            raise PreparationFailed(str(problem_of(e))) from e

    def _render(self, template, context: dict[str, Any], language: str) -> str:
        try:
            with translation.override(language):
                return render_within_limits(template, context)
        except FAILURES as e:
            raise PreparationFailed(str(problem_of(e))) from e

    def _person(self, model, pk: int | None):
        if pk is None:
            return None
        key = (model.__name__, pk)
        if key not in self._people:
            if len(self._people) > 2000:
                self._people.clear()
            self._people[key] = model.objects.filter(pk=pk).first()
        return self._people[key]

    def build_for(
        self,
        candidate: Candidate | MailingRecipient | None,
        *,
        message_id: str | None,
        to: tuple[str, str] | None = None,
        subject_prefix: str = "",
    ) -> Built:
        """The mail of one recipient (``to``: send it elsewhere, for a test)."""
        from suivi.parties.models import Contact, Party

        if isinstance(candidate, MailingRecipient):  # read with its contact and party
            contact, party = candidate.contact, candidate.party
        else:
            contact = self._person(Contact, getattr(candidate, "contact_id", None))
            party = self._person(Party, getattr(candidate, "party_id", None))
        name = getattr(candidate, "name", "") if candidate is not None else ""
        address = getattr(candidate, "address", "") if candidate is not None else ""
        if to is not None:
            name, address = to
        address = usable_address(address) or "recipient@example.com"
        language = (contact.language if contact is not None else "") or self.language
        context = templates.context(party=party, contact=contact, user=self.author, language=language)
        if candidate is None:
            context = {**templates.specimen(), "me": context["me"], "today": context["today"]}
        link = unsubscribe_url(address)
        context["unsubscribe_url"] = link
        subject = (subject_prefix + one_line(self._render(self.subject_template, context, language)))[:998]
        html = sanitise(self._render(self.body_template, context, language))
        text = _text_of(html)
        local, domain = address.rsplit("@", 1)
        headers = {
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if message_id:
            headers["Message-ID"] = message_id
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=self.sender,
            to=[str(Address(display_name=one_line(name)[:100], username=local, domain=domain))],
            reply_to=[self.mailing.reply_to] if self.mailing.reply_to else None,
            headers=headers,
        )
        message.attach_alternative(html, "text/html")
        for file_name, data, content_type in self.files:
            message.attach(file_name, data, content_type)
        return Built(message, subject, html, text)


def as_bytes(message: EmailMultiAlternatives) -> bytes:
    return message.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]  # Django's MIME classes take it


def send_one(message: EmailMultiAlternatives) -> str:
    """Send one message through the company server at once; "" or why it failed."""
    try:
        smtp_connection().send_messages([message])
    except (TimeoutError, smtplib.SMTPException, OSError, DestinationRefused) as e:
        return smtp_reason(e)
    return ""
