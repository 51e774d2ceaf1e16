"""Bounces of e-mailings (issue 11, point 6; RELIABILITY M10): 100 generated delivery reports
(RFC 3464), hard and soft, each attributed to its recipient — by the original's Message-ID in the
returned headers, else by address — counted once on the address, which is marked invalid at the
first hard bounce (5.1.x, 5.2.1) or the third bounce of any kind; later e-mailings skip it. The
bounce mailbox is read from a real Dovecot."""

from __future__ import annotations

import random

from suivi.mailing import bounces, mailing_sender
from suivi.mailing import mailing_services as services
from suivi.mailing.mailings import (
    InvalidAddress,
    Mailing,
    MailingRecipient,
    RecipientReason,
    RecipientStatus,
)
from suivi.mailing.models import FolderState, Mailbox, Security

from .mailservers import dovecot, smtp_server  # noqa: F401  (fixtures)
from .test_mailing_pages import _loopback, new_mailing, olive, people, use_server  # noqa: F401  (fixtures)


def report(
    recipient: str,
    status: str,
    *,
    message_id: str = "",
    returned: str = "rfc822",
    action: str = "failed",
    to: str = "bounces@acme.test",
    serial: int = 0,
) -> bytes:
    """A delivery report as MTAs write them: a human part, the per-recipient status fields and
    the original's headers (``returned``: "rfc822", "headers" or "none")."""
    original = (
        f"Message-ID: {message_id}\r\nFrom: Olive <crm@acme.test>\r\nTo: {recipient}\r\nSubject: News\r\n"
        if message_id
        else f"From: Olive <crm@acme.test>\r\nTo: {recipient}\r\nSubject: News\r\n"
    )
    parts = [
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host mx.example.test.\r\n\r\n<{recipient}>: host said {status}\r\n",
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\nArrival-Date: Mon, 2 Mar 2026 10:00:00 +0100\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {'550' if status.startswith('5') else '452'} {status} the server said no\r\n",
    ]
    if returned == "rfc822":
        parts.append(f"Content-Type: message/rfc822\r\n\r\n{original}\r\nHello Marie,\r\n")
    elif returned == "headers":
        parts.append(f"Content-Type: text/rfc822-headers\r\n\r\n{original}")
    body = "".join(f"--BOUNDARY\r\n{p}\r\n" for p in parts) + "--BOUNDARY--\r\n"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"
        f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <report-{serial}-{random.random()}@mx.example.test>\r\n"
        "Date: Mon, 2 Mar 2026 10:00:05 +0100\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n\r\n' + body
    ).encode()


def sent(user, **values) -> Mailing:
    mailing = new_mailing(user, **{"envelope_from": "bounces@acme.test", **values})
    mailing = services.start(acting_user=user, mailing=mailing, expected_version=mailing.version)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    return mailing


def row(mailing: Mailing, address: str) -> MailingRecipient:
    return MailingRecipient.objects.get(mailing=mailing, address_key=address)


def test_a_hundred_reports_hard_and_soft_are_each_attributed_to_their_recipient(olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(50)
    mailings = [sent(olive, name=f"News {n}") for n in range(3)]
    first = mailings[0]
    styles = ["rfc822", "headers", "none"]
    reports: list[tuple[str, bytes]] = []
    # 30 hard bounces of the first e-mailing, the original returned whole, its headers only, or nothing
    for i in range(30):
        address = f"p{i}@example.test"
        style = styles[i % 3]
        message_id = row(first, address).message_id if style != "none" else ""
        reports.append(("hard", report(address, "5.1.1", message_id=message_id, returned=style, serial=len(reports))))
    # 30 soft bounces (a full mailbox the remote server gave up on): 10 addresses × the 3 e-mailings
    for mailing in mailings:
        for i in range(30, 40):
            address = f"p{i}@example.test"
            message_id = row(mailing, address).message_id
            reports.append(("soft", report(address, "4.2.2", message_id=message_id, serial=len(reports))))
    # 10 policy refusals (5.7.1): soft, they say more about the message than the address
    for i in range(40, 50):
        address = f"p{i}@example.test"
        reports.append(
            ("policy", report(address, "5.7.1", message_id=row(first, address).message_id, serial=len(reports)))
        )
    # 10 "delayed" reports: nothing failed yet
    for i in range(40, 50):
        address = f"p{i}@example.test"
        message_id = row(mailings[1], address).message_id
        reports.append(
            ("delayed", report(address, "4.4.7", message_id=message_id, action="delayed", serial=len(reports)))
        )
    # 10 reports about a mail a user wrote (its Message-ID is no e-mailing's), to recipients of e-mailings
    for i in range(40, 50):
        reports.append(
            (
                "personal",
                report(f"p{i}@example.test", "5.1.1", message_id=f"<personal-{i}@acme.test>", serial=len(reports)),
            )
        )
    # 10 reports read twice (a report sent twice, or read again after a crash)
    reports += [("again", raw) for _kind, raw in reports[:10]]
    assert len(reports) == 100
    random.Random(3).shuffle(reports)
    attributed = {kind: 0 for kind, _raw in reports}
    counted = {kind: 0 for kind, _raw in reports}
    for kind, raw in reports:
        found = bounces.record_report(raw, envelope="bounces@acme.test")
        attributed[kind] += len(found)
        counted[kind] += sum(a.counted for a in found)
    assert attributed == {"hard": 30, "soft": 30, "policy": 10, "delayed": 0, "personal": 0, "again": 10}
    # a report read twice counts once, whichever copy came first
    assert counted["hard"] + counted["again"] == 30
    assert {k: counted[k] for k in ("soft", "policy", "delayed", "personal")} == {
        "soft": 30,
        "policy": 10,
        "delayed": 0,
        "personal": 0,
    }
    # each report's recipient, and only it, says "bounced" with the server's words
    for i in range(30):
        # without the original's Message-ID, the last e-mailing sent to the address is the one
        which = mailings[2] if styles[i % 3] == "none" else first
        bounced = row(which, f"p{i}@example.test")
        assert (bounced.status, bounced.reason_code) == (RecipientStatus.FAILED, bounces.BOUNCED)
        assert bounced.detail.startswith("5.1.1 smtp; 550 5.1.1")
        assert row(mailings[1], f"p{i}@example.test").status == RecipientStatus.SENT
    for mailing in mailings:
        for i in range(30, 40):
            assert row(mailing, f"p{i}@example.test").reason_code == bounces.BOUNCED
    assert MailingRecipient.objects.filter(reason_code=bounces.BOUNCED).count() == 70
    # hard: marked at once; soft: at the third; policy: counted, not marked; delayed: nothing
    invalid = {a.address: a for a in InvalidAddress.objects.all()}
    assert len(invalid) == 50
    for i in range(30):
        assert invalid[f"p{i}@example.test"].bounces == 1 and invalid[f"p{i}@example.test"].marked_at
    for i in range(30, 40):
        assert invalid[f"p{i}@example.test"].bounces == 3 and invalid[f"p{i}@example.test"].marked_at
        assert invalid[f"p{i}@example.test"].last_reason.startswith("4.2.2")
    for i in range(40, 50):
        assert invalid[f"p{i}@example.test"].bounces == 1 and invalid[f"p{i}@example.test"].marked_at is None
    # later e-mailings skip the invalid addresses
    received = len(smtp_server.messages)
    later = sent(olive, name="Later")
    skipped = MailingRecipient.objects.filter(mailing=later, status=RecipientStatus.SKIPPED)
    assert skipped.count() == 40 and set(skipped.values_list("reason_code", flat=True)) == {RecipientReason.INVALID}
    assert len(smtp_server.messages) == received + 10
    assert {r[0][0] for r in smtp_server.messages[received:]} == {f"p{i}@example.test" for i in range(40, 50)}


def test_soft_bounces_mark_an_address_at_the_third_and_a_hard_one_at_once(olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(2)
    mailings = [sent(olive) for _ in range(3)]
    for n, mailing in enumerate(mailings):
        found = bounces.record_report(
            report("p0@example.test", "4.4.7", message_id=row(mailing, "p0@example.test").message_id)
        )
        assert found[0].counted and found[0].marked == (n == 2)
        assert (InvalidAddress.objects.get(address="p0@example.test").marked_at is not None) == (n == 2)
    found = bounces.record_report(
        report("P1@Example.test", "5.1.2", message_id=row(mailings[0], "p1@example.test").message_id)
    )
    assert found[0].hard and found[0].marked
    assert services.preview_selection(acting_user=olive, expression='party.city = "Namur"').invalid == 2


def test_a_report_without_the_originals_headers_is_matched_by_address_of_the_bounce_mailbox_only(olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(1)
    mailing = sent(olive)
    raw = report("p0@example.test", "5.1.1", returned="none")
    assert bounces.record_report(raw, envelope="someone-else@acme.test") == []  # not this mailbox's e-mailing
    found = bounces.record_report(raw, envelope="bounces@acme.test")
    assert [f.recipient_id for f in found] == [row(mailing, "p0@example.test").pk]


def test_a_bounce_tells_that_a_mail_of_unknown_fate_did_leave(olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(1)
    mailing = sent(olive)
    recipient = row(mailing, "p0@example.test")
    MailingRecipient.objects.filter(pk=recipient.pk).update(status=RecipientStatus.UNKNOWN, reason_code="interrupted")
    bounces.record_report(report("p0@example.test", "5.1.1", message_id=recipient.message_id))
    assert MailingRecipient.objects.get(pk=recipient.pk).reason_code == bounces.BOUNCED


def test_an_address_marked_invalid_is_skipped_at_once_by_e_mailings_being_sent(olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(2)
    done = sent(olive)
    waiting = new_mailing(olive, name="Waiting")
    waiting = services.start(acting_user=olive, mailing=waiting, expected_version=waiting.version)
    Mailing.objects.filter(pk=waiting.pk).update(worker="t")
    mailing_sender.Worker(waiting.pk, "t", None, None).prepare(Mailing.objects.get(pk=waiting.pk))
    bounces.record_report(report("p1@example.test", "5.1.1", message_id=row(done, "p1@example.test").message_id))
    assert (row(waiting, "p1@example.test").status, row(waiting, "p1@example.test").reason_code) == (
        RecipientStatus.SKIPPED,
        RecipientReason.INVALID,
    )
    assert row(waiting, "p0@example.test").status == RecipientStatus.PENDING


def test_ordinary_mails_and_broken_reports_are_left_alone():
    assert bounces.read_report(b"From: a@b.test\r\nSubject: Hello\r\n\r\nHi") is None
    assert bounces.record_report(b"") == []
    broken = report("x@example.test", "5.1.1")[:400]
    assert bounces.record_report(broken) == []
    exim = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.test>\r\nTo: bounces@acme.test\r\n"
        b"Subject: Mail delivery failed: returning message to sender\r\nX-Failed-Recipients: gone@example.test\r\n"
        b"\r\nThis message was created automatically by mail delivery software.\r\n\r\n"
        b"  gone@example.test\r\n    SMTP error from remote mail server after RCPT TO: 550 5.1.1 unknown user\r\n"
    )
    found = bounces.read_report(exim)
    assert found is not None and [(f.addresses, f.status) for f in found.failures] == [(["gone@example.test"], "5.1.1")]


def test_the_bounce_mailbox_is_read_from_imap_once(olive, smtp_server, dovecot, settings):  # noqa: F811
    use_server(smtp_server)
    people(6)
    account = dovecot.add_user()
    mailing = sent(olive, envelope_from=account.address)
    Mailbox.objects.create(
        name="Bounces",
        address=account.address.upper(),
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security=Security.NONE,
        login=account.login,
        password=account.password,
    )
    assert list(bounces.bounce_mailboxes().values_list("login", flat=True)) == [account.login]
    dovecot.deliver_many(
        account,
        [
            report(f"p{i}@example.test", "5.1.1", message_id=row(mailing, f"p{i}@example.test").message_id, serial=i)
            for i in range(4)
        ]
        + [b"From: jean@dupont.test\r\nSubject: Thanks\r\nMessage-ID: <t@dupont.test>\r\n\r\nThank you!\r\n"],
    )
    box = Mailbox.objects.get(login=account.login)
    assert bounces.read_bounces(box.pk) == 4
    assert bounces.read_bounces(box.pk) == 0  # its own cursor: nothing read twice
    assert FolderState.objects.get(mailbox=box, folder=bounces.CURSOR).last_uid == 5
    assert InvalidAddress.objects.filter(marked_at__isnull=False).count() == 4
    dovecot.deliver(account, report("p5@example.test", "5.1.1", returned="none", to=account.address, serial=9))
    assert bounces.read_all_bounces() == 1
    assert row(mailing, "p5@example.test").reason_code == bounces.BOUNCED
