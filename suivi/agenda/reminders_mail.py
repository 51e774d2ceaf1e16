"""E-mailing due reminders through the company's SMTP server (the worker's side of
``activities.reminders``: that app may not use the mail server, this one may).

Each claimed row is marked ``unknown`` just before it is handed to the server and ``sent`` once
the server accepted it; see ``activities.reminders`` for what a killed worker leaves behind
(claimed rows are taken again; the one row being handed over is never sent twice)."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _
from django.utils.translation import override

from suivi.activities import reminders
from suivi.activities.models import ReminderDelivery
from suivi.mailing.queries import outgoing_server
from suivi.mailing.sending import smtp_connection

logger = logging.getLogger(__name__)


def _zone(user) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE)
    except (ValueError, KeyError):
        return ZoneInfo(settings.TIME_ZONE)


def compose(row: ReminderDelivery, sender: str, now: datetime | None = None) -> EmailMessage:
    """The reminder mail of ``row``, in its user's language and time zone; a late one says so."""
    user = row.user
    late = reminders.is_late(row, now)
    with override(user.language or settings.LANGUAGE_CODE):
        when = row.occurrence_start.astimezone(_zone(user)).strftime("%d/%m/%Y %H:%M")
        subject = _("Reminder: %(subject)s at %(when)s") % {"subject": row.action.subject, "when": when}
        if late:
            subject = _("Late reminder: %(subject)s at %(when)s") % {"subject": row.action.subject, "when": when}
        lines = [
            _("%(subject)s starts at %(when)s.") % {"subject": row.action.subject, "when": when},
        ]
        if row.action.party_id:
            lines.append(_("Party: %(party)s") % {"party": row.action.party})
        if late:
            lines.append(
                _("This reminder is late: it was due at %(due)s, when the reminder service was not running.")
                % {"due": row.due_at.astimezone(_zone(user)).strftime("%d/%m/%Y %H:%M")}
            )
        base = getattr(settings, "SUIVI_BASE_URL", "") or ""
        if base:
            lines.append(f"{base.rstrip('/')}/crm/actions/{row.action_id}/")
    return EmailMessage(subject=subject, body="\n\n".join(lines), from_email=sender, to=[user.email])


def send_due(now: datetime | None = None) -> int:
    """E-mail the due reminders (claimed here); returns how many the server accepted."""
    lease, rows = reminders.claim(now)
    if not rows:
        return 0
    without_mail = [row for row in rows if not row.user.email]
    for row in without_mail:  # the browser shows it; there is no address to mail
        if reminders.hand_over(row, lease):
            reminders.mark_sent(row)
    rows = [row for row in rows if row.user.email]
    if not rows:
        return 0
    server = outgoing_server()
    sender = server.from_address or settings.DEFAULT_FROM_EMAIL
    connection = smtp_connection()
    try:
        connection.open()
    except Exception:  # the server cannot be reached: nothing was handed over, try again later
        logger.exception("Could not reach the mail server to send reminders")
        for row in rows:
            reminders.give_back(row)
        return 0
    sent = 0
    try:
        for row in rows:
            message = compose(row, sender, now)
            if not reminders.hand_over(row, lease):
                continue  # another worker took it (our lease expired)
            try:
                connection.send_messages([message])
            except Exception:
                # Maybe accepted, maybe not: at most once, so the row stays ``unknown``.
                logger.exception("Reminder %s: the mail server did not confirm", row.pk)
                continue
            reminders.mark_sent(row)
            sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # noqa: S110 — closing a broken connection
            pass
    return sent
