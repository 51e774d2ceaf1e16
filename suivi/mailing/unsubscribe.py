"""Unsubscribing from e-mailings (issue 11, point 6; RFC 8058; RELIABILITY M9).

Every mail of an e-mailing carries ``List-Unsubscribe: <…/u/TOKEN/>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; the token is the recipient's address,
signed (``mailing_services.unsubscribe_token``), so that nobody can unsubscribe someone else.

- A GET of the link (a person's click, or a link scanner's visit) only shows a page with a
  button: it changes nothing.
- A POST (the mail client's one-click, without cookie or CSRF token; or the page's button) opts
  the address out at once: ``opt_out``. It is idempotent: a second POST finds it done.

An opted-out address is skipped by every later e-mailing (the worker checks ``MailingOptOut``
when it makes the recipients' rows), and its rows still waiting in e-mailings being sent are
skipped at once.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from suivi.core import audit

from .mailing_services import address_of_token
from .mailings import MailingOptOut, MailingRecipient, OptOutSource, RecipientReason, RecipientStatus, normalise_address

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


def address_of(token: str) -> str | None:
    """The address an unsubscribe token stands for; None for a token not made here."""
    if not token or len(token) > 1000:
        return None
    return address_of_token(token)


def is_opted_out(address: str) -> bool:
    return MailingOptOut.objects.filter(address=normalise_address(address)).exists()


@transaction.atomic
def opt_out(*, address: str, source: str = OptOutSource.LINK) -> tuple[MailingOptOut, bool]:
    """Opt ``address`` out of e-mailings; (its row, whether it is new). Nobody signed in does
    this: the signed token is the proof. Waiting rows of e-mailings being sent are skipped."""
    key = normalise_address(address)
    existing = MailingOptOut.objects.filter(address=key).first()
    if existing is not None:
        return existing, False
    if source not in OptOutSource.values:
        source = OptOutSource.LINK
    mailing_id = (
        MailingRecipient.objects.filter(address_key=key, status=RecipientStatus.SENT)
        .order_by("-sent_at", "-id")
        .values_list("mailing_id", flat=True)
        .first()
    )
    try:
        with transaction.atomic():
            row = MailingOptOut.objects.create(address=key, source=source, mailing_id=mailing_id)
    except IntegrityError:  # two clicks at once: the other one recorded it
        return MailingOptOut.objects.get(address=key), False
    MailingRecipient.objects.filter(address_key=key, status=RecipientStatus.PENDING).update(
        status=RecipientStatus.SKIPPED, reason_code=RecipientReason.OPTED_OUT
    )
    audit.record(None, "opt_out", row, {"source": ["", source]})
    return row, True
