"""The e-mailing engine (issue 11, points 1–5 and 7; RELIABILITY M2–M8, M11, M12) against a real SMTP
server on loopback (aiosmtpd, with a fault-injecting handler: 4xx, 5xx, dropped connections) and
Dovecot for drafts mode. The SIGKILL test (M1) is tests/test_mailing_crash.py."""

from __future__ import annotations

import email
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from suivi.accounts.models import Role
from suivi.activities.models import Action
from suivi.core.errors import ConflictError, InvalidInput, PermissionDenied, VersionRequired
from suivi.core.models import CompanySettings
from suivi.mailing import jobs, mailing_sender
from suivi.mailing import mailing_services as services
from suivi.mailing.mailings import (
    InvalidAddress,
    Mailing,
    MailingOptOut,
    MailingRecipient,
    MailingStatus,
    PauseReason,
    RecipientReason,
    RecipientStatus,
)
from suivi.mailing.models import Mailbox, MailRecord, OutgoingServer, Security
from suivi.parties.models import Affiliation, Contact, Party

from . import factories
from .conftest import make_user
from .mailservers import dovecot, free_port  # noqa: F401  (fixture)

# --- a fault-injecting SMTP server ---------------------------------------------------------------------------


@dataclass
class FaultySmtp:
    """An aiosmtpd handler that counts what it received per address and misbehaves on request:
    ``temp_rate`` / ``perm_rate`` of MAIL, RCPT and DATA commands answered 451 / 550 (seeded),
    ``refuse[address]`` a fixed answer at RCPT, the connection dropped at RCPT every
    ``drop_rcpt_every`` transactions, or dropped after taking the message (before answering it)
    every ``drop_after_data_every`` transactions; MAIL refused after a failed transaction until
    the client sends RSET."""

    seed: int = 1
    temp_rate: float = 0.0
    perm_rate: float = 0.0
    refuse: dict = field(default_factory=dict)
    drop_rcpt_every: int = 0
    drop_after_data_every: int = 0
    received: Counter = field(default_factory=Counter)  # address → messages taken
    tried: Counter = field(default_factory=Counter)  # address → RCPT commands
    refused_for_good: set = field(default_factory=set)  # addresses answered 5xx
    retried_after_5xx: set = field(default_factory=set)
    arrivals: list = field(default_factory=list)  # (time.monotonic(), address)
    walls: list = field(default_factory=list)  # when each message was taken (timezone.now())
    messages: list = field(default_factory=list)  # (address, parsed message)
    peers: set = field(default_factory=set)
    refused_mail_without_rset: int = 0
    transactions: int = 0
    port: int = 0

    def __post_init__(self):
        self.random = random.Random(self.seed)

    def _fault(self) -> str | None:
        roll = self.random.random()
        if roll < self.perm_rate:
            return "550 5.7.1 refused for good (test)"
        if roll < self.perm_rate + self.temp_rate:
            return "451 4.3.0 try again later (test)"
        return None

    async def handle_RSET(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook)
        session.dirty = False
        return "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        self.peers.add(session.peer)
        if getattr(session, "dirty", False):
            self.refused_mail_without_rset += 1
            return "503 5.5.1 send RSET first (test)"
        self.transactions += 1
        session.transaction = self.transactions
        fault = self._fault()
        if fault:
            session.dirty = True
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.tried[address] += 1
        if address in self.refused_for_good:
            self.retried_after_5xx.add(address)
        if self.drop_rcpt_every and session.transaction % self.drop_rcpt_every == 0:
            server.transport.abort()
            return "421 4.4.2 gone (test)"
        fault = self.refuse.get(address) or self._fault()
        if fault:
            session.dirty = True
            if fault.startswith("5"):
                self.refused_for_good.add(address)
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        fault = self._fault()
        if fault:
            session.dirty = True
            if fault.startswith("5"):
                self.refused_for_good.update(envelope.rcpt_tos)
            return fault
        for address in envelope.rcpt_tos:
            self.received[address] += 1
            self.arrivals.append((time.monotonic(), address))
            self.walls.append(timezone.now())
            self.messages.append((address, email.message_from_bytes(envelope.content, policy=policy.default)))
        if self.drop_after_data_every and session.transaction % self.drop_after_data_every == 0:
            server.transport.abort()  # taken, but the client never hears it
        return "250 OK"


@pytest.fixture
def smtp(request):
    """Start a FaultySmtp (``smtp(**faults)``) as the company's SMTP server."""
    controllers = []

    def start(**options) -> FaultySmtp:
        handler = FaultySmtp(**options)
        handler.port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
        controller.start()
        controllers.append(controller)
        OutgoingServer.objects.update_or_create(
            pk=1,
            defaults={
                "host": "127.0.0.1",
                "port": handler.port,
                "security": Security.NONE,
                "from_address": "crm@acme.test",
            },
        )
        return handler

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(autouse=True)
def _fast_engine(settings, monkeypatch):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.SUIVI_BASE_URL = "https://crm.acme.test"
    monkeypatch.setattr(mailing_sender, "RETRY_SECONDS", 0.02)
    monkeypatch.setattr(mailing_sender, "RECONNECT_SECONDS", 0.01)
    monkeypatch.setattr(mailing_sender, "CHECK_SECONDS", 0.05)


def delay(seconds) -> None:
    CompanySettings.objects.filter(pk=1).update(mailing_delay_seconds=Decimal(str(seconds)))


@pytest.fixture
def olive(db):
    delay(0)
    return make_user("olive", email="olive@acme.test", first_name="Olive", last_name="Martin")


def people(count: int, *, city: str = "Namur", prefix: str = "p") -> list[Contact]:
    """``count`` contacts, each at its own party in ``city`` (bulk-made: the engine reads rows)."""
    start = Party.objects.count()
    parties = Party.objects.bulk_create(
        Party(code=f"{prefix}{start + i}", name=f"Garage {prefix}{i}", city=city, is_customer=True)
        for i in range(count)
    )
    contacts = Contact.objects.bulk_create(
        Contact(first_name="Marie", last_name=f"{prefix.upper()}{i}", email=f"{prefix}{i}@example.test")
        for i in range(count)
    )
    Affiliation.objects.bulk_create(Affiliation(party=p, contact=c) for p, c in zip(parties, contacts, strict=True))
    return contacts


def new_mailing(user, **values) -> Mailing:
    values = {
        "subject": "News for {{ party.name }}",
        "body": (
            '<p>Hello {{ contact.first_name }},</p><p>Our news. <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
        ),
        "selection": "expression",
        "expression": 'party.city = "Namur"',
        **values,
    }
    return services.create_mailing(acting_user=user, values=values)


def started(user, **values) -> Mailing:
    mailing = new_mailing(user, **values)
    return services.start(acting_user=user, mailing=mailing, expected_version=mailing.version)


def statuses(mailing: Mailing) -> Counter:
    return Counter(MailingRecipient.objects.filter(mailing=mailing).values_list("status", flat=True))


def rows(mailing: Mailing) -> dict[str, MailingRecipient]:
    return {r.address: r for r in MailingRecipient.objects.filter(mailing=mailing)}


# --- selection, messages, preview ------------------------------------------------------------------------------


def test_each_recipient_gets_one_mail_with_its_merge_fields_and_the_one_click_unsubscribe_headers(olive, smtp):
    server = smtp()
    people(3)
    no_address = factories.contact(olive, factories.party(olive, city="Namur"), last_name="Nomail", email="")
    shared = factories.party(olive, name="Shared & Co", city="Namur")
    factories.contact(olive, shared, first_name="Ann", last_name="One", email="Team@Shared.test")
    factories.contact(olive, shared, first_name="Bob", last_name="Two", email="team@shared.test ")
    factories.contact(olive, shared, first_name="Out", last_name="Opted", email="out@shared.test")
    factories.contact(olive, shared, first_name="Bad", last_name="Bounce", email="bounce@shared.test")
    MailingOptOut.objects.create(address="out@shared.test")
    InvalidAddress.objects.create(address="bounce@shared.test", bounces=3, marked_at=timezone.now())
    mailing = started(olive)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.DONE and mailing.finished_at
    assert sorted(server.received.items()) == [
        ("Team@Shared.test", 1),
        ("p0@example.test", 1),
        ("p1@example.test", 1),
        ("p2@example.test", 1),
    ]
    by_address = rows(mailing)
    assert by_address[""].contact == no_address and by_address[""].reason_code == RecipientReason.NO_ADDRESS
    skipped = {r.address: r.reason_code for r in by_address.values() if r.status == RecipientStatus.SKIPPED}
    assert skipped == {
        "": RecipientReason.NO_ADDRESS,
        "team@shared.test": RecipientReason.DUPLICATE,
        "out@shared.test": RecipientReason.OPTED_OUT,
        "bounce@shared.test": RecipientReason.INVALID,
    }
    assert "unsubscribed" in by_address["out@shared.test"].reason
    address, message = next(m for m in server.messages if m[0] == "p1@example.test")
    row = by_address["p1@example.test"]
    assert row.status == RecipientStatus.SENT and row.sent_at and row.attempts == 1
    assert message["Message-ID"] == row.message_id
    assert message["Subject"] == "News for Garage p1"
    assert message["From"] == "Olive Martin <crm@acme.test>" and message["To"] == "Marie P1 <p1@example.test>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip().strip("<>")  # (folded after the colon: it is long)
    assert link.startswith("https://crm.acme.test/u/") and link.endswith("/")
    assert services.address_of_token(link.split("/u/")[1].rstrip("/")) == "p1@example.test"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Hello Marie," in html and f'href="{link}"' in html
    assert "Hello Marie," in text and f"Unsubscribe ({link})" in text
    progress = services.progress(mailing)
    assert (progress.sent, progress.skipped, progress.remaining, progress.total) == (4, 4, 0, 8)


def test_the_count_and_a_sample_of_the_recipients_are_shown_before_sending(olive):
    people(12, city="Namur")
    people(5, city="Liège", prefix="l")
    MailingOptOut.objects.create(address="p3@example.test")
    preview = services.preview_selection(acting_user=olive, expression='party.city = "Namur"', sample_size=5)
    assert (preview.count, preview.opted_out, preview.without_address) == (12, 1, 0)
    assert [s.address for s in preview.sample] == [f"p{i}@example.test" for i in range(5)]
    assert preview.sample[0].party == "Garage p0"
    everyone = services.preview_selection(acting_user=olive, expression="")
    assert everyone.count == 17
    with pytest.raises(InvalidInput) as refused:
        services.preview_selection(acting_user=olive, expression="contact.notes = 'x'")
    assert "notes" in refused.value.errors["expression"]
    with pytest.raises(InvalidInput) as refused:
        services.preview_selection(acting_user=olive, expression="party.city = ")
    assert "expression" in refused.value.errors
    # a hand-made list: contacts chosen one by one, and addresses typed in
    chosen = Contact.objects.filter(email__in=["p1@example.test", "l2@example.test"])
    hand = services.preview_selection(
        acting_user=olive,
        selection="list",
        contact_ids=[c.pk for c in chosen],
        addresses="Jean <jean@else.test>; p1@example.test",
    )
    assert hand.count == 4 and {s.address for s in hand.sample} >= {"jean@else.test", "l2@example.test"}
    with pytest.raises(InvalidInput) as refused:
        services.preview_selection(acting_user=olive, selection="list", addresses="not an address")
    assert "addresses" in refused.value.errors


def test_a_hand_made_list_sends_once_per_address_even_if_typed_twice(olive, smtp):
    server = smtp()
    contacts = people(3)
    mailing = started(
        olive,
        selection="list",
        contact_ids=[contacts[0].pk, contacts[2].pk],
        addresses=["Jean <jean@else.test>", "P0@example.test"],
        subject="Hello {{ contact.name }}",
    )
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    assert dict(server.received) == {"p0@example.test": 1, "p2@example.test": 1, "jean@else.test": 1}
    assert rows(mailing)["P0@example.test"].reason_code == RecipientReason.DUPLICATE
    subjects = {a: m["Subject"] for a, m in server.messages}
    assert subjects == {
        "p0@example.test": "Hello Marie P0",
        "p2@example.test": "Hello Marie P2",
        "jean@else.test": "Hello",
    }


def test_the_preview_escapes_merged_values_sanitises_the_body_and_templates_reach_nothing_outside(olive):
    party = factories.party(olive, name='<img src=x onerror="alert(1)">', city="Namur")
    factories.contact(olive, party, first_name="<script>alert(2)</script>", email="x@example.test")
    mailing = new_mailing(
        olive, body="<p onclick='alert(3)'>Hi {{ contact.first_name }} of {{ party.name }}</p><script>alert(4)</script>"
    )
    preview = services.preview_message(acting_user=olive, mailing=mailing)
    assert "<script" not in preview.html and "onclick" not in preview.html and "<img" not in preview.html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in preview.html and "alert(4)" not in preview.html
    assert preview.subject == 'News for <img src=x onerror="alert(1)">'  # plain text: a mail client shows it as such
    assert preview.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for payload in (
        "{{ ''.__class__.__mro__ }}",
        "{{ contact.__dict__ }}",
        "{{ settings.SECRET_KEY }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{{ party.notes }}",
    ):
        with pytest.raises(InvalidInput) as refused:
            services.update_mailing(
                acting_user=olive, mailing=mailing, values={"body": payload}, expected_version=mailing.version
            )
        assert "body" in refused.value.errors, payload
    with pytest.raises(InvalidInput) as refused:
        services.update_mailing(
            acting_user=olive,
            mailing=mailing,
            values={"subject": "{{ me.password }}"},
            expected_version=mailing.version,
        )
    assert "subject" in refused.value.errors


def test_line_breaks_in_names_subjects_and_reply_to_inject_no_header(olive, smtp):
    server = smtp()
    party = factories.party(olive, name="Dupont\r\nBcc: spy@evil.test", city="Namur")
    factories.contact(olive, party, first_name="Eve\r\nBcc: spy2@evil.test", last_name="Ré", email="eve@example.test")
    with pytest.raises(InvalidInput) as refused:
        new_mailing(olive, reply_to="me@acme.test\r\nBcc: spy3@evil.test")
    assert "reply_to" in refused.value.errors
    mailing = started(
        olive,
        subject="Offre spéciale 🎉 {{ party.name }}\r\nBcc: spy4@evil.test",
        sender_name="Olive\r\nBcc: spy5@evil.test",
        reply_to="ventes@acme.test",
    )
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    assert list(server.received) == ["eve@example.test"]
    ((address, message),) = server.messages
    assert message["Bcc"] is None and len(message.get_all("To")) == 1
    assert message["Subject"].strip() == "Offre spéciale 🎉 Dupont Bcc: spy@evil.test Bcc: spy4@evil.test"
    assert message["Reply-To"] == "ventes@acme.test"
    assert str(message["To"]).endswith("<eve@example.test>") and "\n" not in str(message["To"])
    assert "evil" not in "".join(f"{k}:{v}" for k, v in message.items() if k not in ("Subject", "To", "From"))


def test_a_test_send_goes_to_oneself_with_the_first_recipients_merge_fields(olive, smtp):
    server = smtp()
    people(2)
    mailing = new_mailing(olive)
    assert services.send_test(acting_user=olive, mailing=mailing) == ""
    ((address, message),) = server.messages
    assert address == "olive@acme.test" and message["Subject"] == "[Test] News for Garage p0"
    assert not MailingRecipient.objects.exists() and Mailing.objects.get().status == MailingStatus.DRAFT
    nobody = make_user("nomail")
    with pytest.raises(InvalidInput):
        services.send_test(acting_user=nobody, mailing=mailing)


def test_attachments_go_with_every_mail(olive, smtp):
    server = smtp()
    people(2)
    mailing = new_mailing(olive)
    services.add_attachment(acting_user=olive, mailing=mailing, name="../tarifs 2026.pdf", content=b"%PDF-1.4 tarifs")
    with pytest.raises(InvalidInput):
        services.add_attachment(acting_user=olive, mailing=mailing, name="big.bin", content=b"x", size=11 * 1024 * 1024)
    mailing = services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
    with pytest.raises(InvalidInput):
        services.add_attachment(acting_user=olive, mailing=mailing, name="late.pdf", content=b"%PDF-1.4")
    mailing_sender.run(mailing.pk)
    for _address, message in server.messages:
        (part,) = list(message.iter_attachments())
        assert part.get_filename() == "tarifs 2026.pdf" and part.get_content() == b"%PDF-1.4 tarifs"


# --- pace ----------------------------------------------------------------------------------------------


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


# The server's clock reads when it got each message: on a loaded two-core machine (load 6 seen
# while other suites ran) its thread wakes up to tens of milliseconds late now and then, so what it
# measures jitters by that much around the engine's own pace, which the worker's release times
# show exactly (and the benchmark measures on a quiet machine).
SERVER_JITTER = 0.04


@pytest.fixture
def releases(monkeypatch):
    """When the worker let each message's last byte go (Pacer.hold returning)."""
    times: list[float] = []
    hold = mailing_sender.Pacer.hold

    def recorded(self):
        hold(self)
        times.append(self.released)  # the moment the pacer took, not a later reading

    monkeypatch.setattr(mailing_sender.Pacer, "hold", recorded)
    return times


def test_mails_leave_at_the_company_delay_on_a_schedule_that_does_not_drift(olive, smtp, releases):
    server = smtp()
    people(20)
    delay("0.2")
    mailing = started(olive)
    started_at = time.monotonic()
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    assert len(releases) == 20
    # Each turn is one delay after the moment the previous message was released (Pacer.turn), so
    # the releases are never closer than the delay; a loaded machine only makes some gaps longer.
    released = gaps(releases)
    assert all(0.2 <= g <= 0.3 + 0.1 for g in released), released
    assert 0.19 <= statistics.median(released) <= 0.25, released
    measured = gaps([t for t, _a in server.arrivals])
    assert all(0.2 - 0.06 - SERVER_JITTER <= g for g in measured), measured
    total = server.arrivals[-1][0] - server.arrivals[0][0]
    assert 19 * 0.2 - SERVER_JITTER <= total <= 19 * 0.2 + 0.3, total  # no drift
    assert time.monotonic() - started_at < 19 * 0.2 + 2


def test_the_pacer_never_goes_faster_than_the_delay_and_does_not_burst_after_a_long_wait():
    pacer = mailing_sender.Pacer(0.1)
    turns = []
    for n in range(12):
        assert pacer.wait(lambda: True, lead=0.02)
        time.sleep(0.005 if n % 2 else 0.015)  # claiming and starting the transaction: uneven
        pacer.hold()
        turns.append(time.monotonic())
        time.sleep(0.01)  # the server's answer, the row's update: not added to the pace
        pacer.turn()
        if n == 6:
            time.sleep(0.45)  # a pause: more than one delay late
    spaced = [b - a for a, b in zip(turns, turns[1:], strict=False)]
    assert all(0.1 <= g <= 0.3 for i, g in enumerate(spaced) if i != 6), spaced  # (a loaded machine oversleeps)
    assert 0.46 < spaced[6] < 0.7  # after the pause: one mail at once, then the delay again — no catching up
    assert sorted(spaced)[5] < 0.14  # the time a mail takes is not added to the pace


def test_after_a_restart_the_first_mail_waits_what_is_left_of_the_delay(olive, smtp, releases):
    assert 0.29 < mailing_sender.Pacer(0.5, timezone.now() - timedelta(seconds=0.2)).next_at - time.monotonic() <= 0.3
    assert mailing_sender.Pacer(0.5, timezone.now() - timedelta(seconds=0.7)).next_at is None
    server = smtp()
    people(2)
    delay("0.5")
    mailing = started(olive)
    last = timezone.now()
    Mailing.objects.filter(pk=mailing.pk).update(last_send_at=last)
    mailing_sender.run(mailing.pk)
    assert (server.walls[0] - last).total_seconds() >= 0.5 - SERVER_JITTER
    assert 0.5 <= gaps(releases)[0] <= 0.75


# --- SMTP faults -----------------------------------------------------------------------------------------


def test_4xx_are_tried_again_later_with_a_cap_and_5xx_fail_only_their_recipient(olive, smtp, monkeypatch):
    server = smtp(seed=7, temp_rate=0.10, perm_rate=0.02)
    people(80)
    mailing = started(olive)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    found = rows(mailing)
    assert max(server.received.values()) == 1
    assert not server.retried_after_5xx  # a 5xx is never tried again
    assert server.refused_mail_without_rset == 0  # every failed transaction was reset
    failed = {a for a, r in found.items() if r.status == RecipientStatus.FAILED}
    refused_at_mail = {a for a in failed if found[a].reason_code == RecipientReason.SENDER}  # unknown to the server
    exhausted = {a for a in failed if found[a].reason_code == RecipientReason.RETRIES}
    assert failed and failed <= server.refused_for_good | refused_at_mail | exhausted
    assert all(found[a].attempts == mailing_sender.MAX_ATTEMPTS for a in exhausted)
    assert all(found[a].detail.startswith("5") for a in failed - exhausted)
    for address, row in found.items():
        if row.status == RecipientStatus.SENT:
            assert server.received[address] == 1
        else:
            assert row.status == RecipientStatus.FAILED and server.received[address] == 0
            assert row.reason_code in (
                RecipientReason.REFUSED,
                RecipientReason.MESSAGE,
                RecipientReason.SENDER,
                RecipientReason.RETRIES,
            )
    retried = [r for r in found.values() if r.status == RecipientStatus.SENT and r.attempts > 1]
    assert retried  # some got a 4xx first and went later
    assert len([r for r in found.values() if r.status == RecipientStatus.SENT]) >= 70
    assert len(server.peers) == 1  # one connection for every mail


def test_a_recipient_refused_for_good_fails_alone_with_the_servers_words(olive, smtp):
    people(4)
    server = smtp(refuse={"p1@example.test": "550 5.1.1 no such user here"})
    mailing = started(olive)
    mailing_sender.run(mailing.pk)
    found = rows(mailing)
    assert found["p1@example.test"].status == RecipientStatus.FAILED
    assert found["p1@example.test"].reason == "the mail server refused the recipient (550 5.1.1 no such user here)"
    assert found["p1@example.test"].attempts == 1 and server.tried["p1@example.test"] == 1
    assert sorted(server.received) == ["p0@example.test", "p2@example.test", "p3@example.test"]


def test_a_dropped_connection_is_reopened_without_losing_or_repeating_a_recipient(olive, smtp):
    server = smtp(drop_rcpt_every=4)
    people(30)
    mailing = started(olive)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    assert statuses(mailing) == {RecipientStatus.SENT: 30}
    assert len(server.received) == 30 and set(server.received.values()) == {1}
    assert len(server.peers) > 5  # the connection was lost and opened again


def test_a_connection_lost_after_the_message_leaves_its_recipient_unknown_never_sent_twice(olive, smtp):
    server = smtp(drop_after_data_every=5)
    people(23)
    mailing = started(olive)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    found = rows(mailing)
    unknown = {a for a, r in found.items() if r.status == RecipientStatus.UNKNOWN}
    assert len(unknown) >= 4 and all(found[a].reason_code == RecipientReason.LOST for a in unknown)
    assert set(server.received.values()) == {1} and len(server.received) == 23  # the server took each once
    assert all(server.tried[a] == 1 for a in unknown)
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.DONE
    # the user decides: send those again (same Message-ID), or count them as sent
    first = sorted(unknown)[0]
    assert (
        services.resolve_unknown(acting_user=olive, mailing=mailing, resend=False, recipient_ids=[found[first].pk]) == 1
    )
    assert MailingRecipient.objects.get(pk=found[first].pk).reason == "counted as sent by Olive Martin"
    server.drop_after_data_every = 0
    assert services.resolve_unknown(acting_user=olive, mailing=mailing, resend=True) == len(unknown) - 1
    assert Mailing.objects.get(pk=mailing.pk).status == MailingStatus.SENDING
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    assert all(server.received[a] == 2 for a in unknown - {first}) and server.received[first] == 1


def test_a_run_of_failures_pauses_the_mailing_and_says_why(olive, smtp):
    people(15)
    server = smtp(refuse={f"p{i}@example.test": "554 5.7.1 policy (test)" for i in range(15)})
    mailing = started(olive)
    assert mailing_sender.run(mailing.pk) == mailing_sender.PAUSED
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.PAUSED and mailing.pause_code == PauseReason.FAILURES
    assert mailing.pause_reason == "10 mails in a row could not be sent; the last one: 554 5.7.1 policy (test)"
    assert statuses(mailing) == {RecipientStatus.FAILED: 10, RecipientStatus.PENDING: 5}
    assert len(server.tried) == 10


def test_an_unreachable_server_pauses_the_mailing_without_failing_anyone(olive, smtp):
    smtp()
    people(3)
    OutgoingServer.objects.filter(pk=1).update(port=free_port())  # nothing listens there
    mailing = started(olive)
    assert mailing_sender.run(mailing.pk) == mailing_sender.PAUSED
    mailing.refresh_from_db()
    assert mailing.pause_code == PauseReason.UNREACHABLE and "could not be reached" in mailing.pause_reason
    assert statuses(mailing) == {RecipientStatus.PENDING: 3}


def test_a_message_that_cannot_be_prepared_pauses_before_sending(olive, smtp):
    server = smtp()
    people(2)
    mailing = started(olive)
    Mailing.objects.filter(pk=mailing.pk).update(body="{% if %}")  # as if stored broken
    assert mailing_sender.run(mailing.pk) == mailing_sender.PAUSED
    mailing.refresh_from_db()
    assert mailing.pause_code == PauseReason.TEMPLATE and not server.received


# --- pause, resume, cancel; one worker; scheduling -------------------------------------------------------------


def in_thread(target, *args):
    out = {}

    def body():
        try:
            out["result"] = target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, out


@pytest.mark.django_db(transaction=True)
def test_pause_resume_and_cancel_take_effect_between_two_mails(olive, smtp):
    server = smtp()
    people(12)
    delay("0.1")
    mailing = started(olive)
    thread, out = in_thread(mailing_sender.run, mailing.pk)
    while len(server.received) < 3:
        time.sleep(0.01)
    services.pause(acting_user=olive, mailing=mailing)
    thread.join(5)
    assert out["result"] == mailing_sender.PAUSED
    at_pause = len(server.received)
    assert statuses(mailing)[RecipientStatus.SENDING] == 0 and at_pause <= 5
    time.sleep(0.3)
    assert len(server.received) == at_pause
    services.resume(acting_user=olive, mailing=mailing)
    thread, out = in_thread(mailing_sender.run, mailing.pk)
    while len(server.received) < at_pause + 3:
        time.sleep(0.01)
    services.cancel(acting_user=olive, mailing=mailing)
    thread.join(5)
    assert out["result"] == mailing_sender.PAUSED
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.CANCELLED
    sent = statuses(mailing)[RecipientStatus.SENT]
    assert sent == len(server.received) < 12 and set(server.received.values()) == {1}
    assert statuses(mailing) == {RecipientStatus.SENT: sent, RecipientStatus.SKIPPED: 12 - sent}
    assert {r.reason for r in rows(mailing).values() if r.status == RecipientStatus.SKIPPED} == {
        "the e-mailing was cancelled"
    }
    assert mailing_sender.run(mailing.pk) == mailing_sender.BUSY  # a cancelled e-mailing sends nothing
    with pytest.raises(InvalidInput):
        services.resume(acting_user=olive, mailing=mailing)


@pytest.mark.django_db(transaction=True)
def test_twenty_random_pauses_and_resumes_send_each_recipient_once_and_finish_only_at_the_end(olive, smtp):
    server = smtp()
    people(60)
    delay("0.02")
    mailing = started(olive)
    rng = random.Random(5)
    threads = [in_thread(mailing_sender.run, mailing.pk)[0]]
    for _ in range(20):
        time.sleep(rng.uniform(0.0, 0.08))
        services.pause(acting_user=olive, mailing=mailing)
        assert Mailing.objects.get(pk=mailing.pk).status == MailingStatus.PAUSED
        time.sleep(rng.uniform(0.0, 0.05))
        services.resume(acting_user=olive, mailing=mailing)
        threads.append(in_thread(mailing_sender.run, mailing.pk)[0])  # what the woken task does
    for thread in threads:
        thread.join(20)
    while Mailing.objects.get(pk=mailing.pk).status != MailingStatus.DONE:
        assert statuses(mailing)[RecipientStatus.PENDING]  # not finished while any is pending
        mailing_sender.run(mailing.pk)
    assert len(server.received) == 60 and set(server.received.values()) == {1}
    assert statuses(mailing) == {RecipientStatus.SENT: 60}


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_a_double_click_on_send_never_send_twice(olive, smtp):
    server = smtp()
    people(40)
    mailing = new_mailing(olive)
    barrier = threading.Barrier(2)

    def click():
        barrier.wait()
        try:
            services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
            return "started"
        except InvalidInput as e:
            assert e.errors == {"status": "This e-mailing was already started."}
            return "refused"

    clicks = [in_thread(click) for _ in range(2)]
    for thread, _out in clicks:
        thread.join(10)
    assert sorted(out["result"] for _t, out in clicks) == ["refused", "started"]
    workers = [in_thread(mailing_sender.run, mailing.pk) for _ in range(3)]
    for thread, _out in workers:
        thread.join(30)
    results = sorted(out["result"] for _t, out in workers)
    assert results.count(mailing_sender.DONE) >= 1 and set(results) <= {mailing_sender.DONE, mailing_sender.BUSY}
    assert len(server.received) == 40 and set(server.received.values()) == {1}
    assert MailingRecipient.objects.filter(mailing=mailing).count() == 40


def test_a_worker_taking_over_from_a_dead_one_marks_its_mail_in_flight_unknown(olive, smtp):
    import subprocess
    import sys

    server = smtp()
    people(5)
    mailing = started(olive)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    token = f"{mailing_sender.new_token().split('|')[0]}|{dead.pid}|1|abc"
    assert not mailing_sender.holder_alive(token)
    assert mailing_sender.holder_alive(mailing_sender.new_token())
    assert mailing_sender.holder_alive(f"another-host|{dead.pid}|1|abc")  # elsewhere: its lease decides
    # the first worker made the rows, then died while sending the first mail
    Mailing.objects.filter(pk=mailing.pk).update(worker="x", lease_until=timezone.now() + timedelta(minutes=5))
    worker = mailing_sender.Worker(mailing.pk, "x", None, None)
    worker.prepare(worker.mailing)
    victim = MailingRecipient.objects.filter(mailing=mailing).order_by("pk").first()
    MailingRecipient.objects.filter(pk=victim.pk).update(status=RecipientStatus.SENDING, attempts=1)
    assert mailing_sender.run(mailing.pk) == mailing_sender.BUSY  # "x" is alive (same process) and leased
    Mailing.objects.filter(pk=mailing.pk).update(worker=token)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE  # a dead holder's lease is free at once
    victim.refresh_from_db()
    assert victim.status == RecipientStatus.UNKNOWN and victim.reason_code == RecipientReason.INTERRUPTED
    assert victim.address not in server.received and len(server.received) == 4


def test_a_scheduled_mailing_starts_at_its_time_but_asks_when_it_is_hours_late(olive, smtp):
    server = smtp()
    people(2)
    soon = timezone.now() + timedelta(minutes=10)
    mailing = new_mailing(olive)
    mailing = services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version, at=soon)
    assert mailing.status == MailingStatus.SCHEDULED
    assert mailing_sender.run(mailing.pk) == mailing_sender.BUSY and not server.received
    assert jobs.resume_mailings() == 0
    assert mailing_sender.sweep(soon + timedelta(minutes=5)) == [mailing.pk]
    assert Mailing.objects.get(pk=mailing.pk).status == MailingStatus.SENDING
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE and len(server.received) == 2
    late = new_mailing(olive)
    late = services.start(acting_user=olive, mailing=late, expected_version=late.version, at=soon)
    assert mailing_sender.sweep(soon + timedelta(hours=3)) == []
    late.refresh_from_db()
    assert late.status == MailingStatus.PAUSED and late.pause_code == PauseReason.STALE
    assert "Suivi was not running" in late.pause_reason
    services.resume(acting_user=olive, mailing=late)  # the user confirms
    assert mailing_sender.run(late.pk) == mailing_sender.DONE


def test_the_sweep_wakes_mailings_no_live_worker_sends(olive, smtp):
    smtp()
    people(1)
    mailing = started(olive)
    assert mailing_sender.sweep() == [mailing.pk]
    Mailing.objects.filter(pk=mailing.pk).update(
        worker=mailing_sender.new_token(), lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert mailing_sender.sweep() == []
    Mailing.objects.filter(pk=mailing.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert mailing_sender.sweep() == [mailing.pk]


# --- drafts (S7), the timeline (point 7) ---------------------------------------------------------------------


def test_drafts_mode_stores_each_mail_once_in_the_senders_drafts_folder(olive, dovecot):  # noqa: F811
    user = dovecot.add_user()
    from suivi.mailing import services as mail_services

    mail_services.save_mailbox(
        acting_user=olive,
        mailbox=None,
        values={
            "name": "Mine",
            "address": user.address,
            "imap_host": "127.0.0.1",
            "imap_port": dovecot.port,
            "imap_security": "none",
            "login": user.login,
            "is_default": True,
        },
        password=user.password,
    )
    people(6)
    mailing = started(olive, method="drafts")
    assert mailing.mailbox == Mailbox.objects.get() and mailing.sender_address == user.address
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    # a worker that died during an append: its row goes again, found by Message-ID, stored once
    again = MailingRecipient.objects.filter(mailing=mailing).order_by("pk")[2]
    MailingRecipient.objects.filter(pk=again.pk).update(status=RecipientStatus.SENDING)
    Mailing.objects.filter(pk=mailing.pk).update(status=MailingStatus.SENDING, worker="dead|1|1|x")
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    assert statuses(mailing) == {RecipientStatus.SENT: 6}
    with dovecot.client(user) as client:
        client.select_folder("Drafts")
        fetched = client.fetch(client.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID TO)]"])
    ids = [email.message_from_bytes(f[b"BODY[HEADER.FIELDS (MESSAGE-ID TO)]"])["Message-ID"] for f in fetched.values()]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert set(ids) == set(MailingRecipient.objects.filter(mailing=mailing).values_list("message_id", flat=True))
    assert all(b"\\Draft" in f[b"FLAGS"] for f in fetched.values())


def test_each_sent_mail_can_be_an_e_mailing_action_on_the_partys_timeline_once(olive, smtp):
    smtp()
    contacts = people(3)
    factories.action_type("E-mailing")
    quiet = started(olive)
    mailing_sender.run(quiet.pk)
    assert not Action.objects.exists()  # off by default
    mailing = started(olive, record_actions=True, name="Spring news")
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    actions = Action.objects.select_related("action_type", "party").order_by("pk")
    assert [a.party.name for a in actions] == ["Garage p0", "Garage p1", "Garage p2"]
    assert all(a.action_type.name_en == "E-mailing" and a.status == "done" for a in actions)
    assert list(actions[0].contacts.all()) == [contacts[0]]
    found = MailingRecipient.objects.filter(mailing=mailing).order_by("pk")
    assert [r.action_id for r in found] == [a.pk for a in actions]
    assert MailRecord.objects.filter(message_id=found[0].message_id, action=actions[0]).exists()
    worker = mailing_sender.Worker(mailing.pk, "x", None, None)
    worker._timeline(found[0], None)  # again: the Message-ID already has its action
    assert Action.objects.count() == 3


# --- services: permissions, versions, tokens ------------------------------------------------------------


def test_only_the_author_or_a_manager_may_change_or_send_an_e_mailing(olive, smtp):
    smtp()
    people(1)
    mailing = new_mailing(olive)
    paul = make_user("paul", email="paul@acme.test")
    mark = make_user("mark", role=Role.MANAGER)
    for call in (
        lambda: services.update_mailing(acting_user=paul, mailing=mailing, values={"name": "x"}, expected_version=1),
        lambda: services.start(acting_user=paul, mailing=mailing, expected_version=1),
        lambda: services.delete_mailing(acting_user=paul, mailing=mailing),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert services.access_mailing(paul, mailing.pk) == mailing  # everyone reads
    with pytest.raises(PermissionDenied):
        services.access_mailing(paul, mailing.pk, for_write=True)
    with pytest.raises(VersionRequired):
        services.update_mailing(acting_user=olive, mailing=mailing, values={"name": "x"}, expected_version=None)
    changed = services.update_mailing(acting_user=mark, mailing=mailing, values={"name": "Renamed"}, expected_version=1)
    with pytest.raises(ConflictError):
        services.update_mailing(acting_user=olive, mailing=mailing, values={"name": "Mine"}, expected_version=1)
    sending = services.start(acting_user=mark, mailing=changed, expected_version=changed.version)
    with pytest.raises(InvalidInput):
        services.update_mailing(
            acting_user=olive, mailing=sending, values={"name": "x"}, expected_version=sending.version
        )
    with pytest.raises(InvalidInput):
        services.start(acting_user=olive, mailing=sending, expected_version=sending.version)
    with pytest.raises(PermissionDenied):
        services.pause(acting_user=paul, mailing=sending)
    from suivi.core.models import AuditEvent

    verbs = list(AuditEvent.objects.filter(object_type="mailing.mailing").order_by("pk").values_list("verb", flat=True))
    assert verbs == ["create", "update", "status"]


def test_an_empty_selection_cannot_be_started(olive):
    mailing = new_mailing(olive, expression='party.city = "Nowhere"')
    with pytest.raises(InvalidInput) as refused:
        services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
    assert "selection" in refused.value.errors


def test_unsubscribe_tokens_stand_for_the_normalised_address_and_cannot_be_forged():
    token = services.unsubscribe_token(" Jean.Dupont@Example.TEST ")
    assert services.address_of_token(token) == "jean.dupont@example.test"
    assert services.address_of_token(token[:-2] + "xx") is None
    assert services.address_of_token("") is None and services.address_of_token("a:b:c") is None
    url = services.unsubscribe_url("A@b.test")
    assert url.startswith("https://crm.acme.test/u/") and url.endswith("/")
    assert services.address_of_token(url.removeprefix("https://crm.acme.test/u/").rstrip("/")) == "a@b.test"


def test_recipients_are_made_and_read_by_keyset_in_bounded_chunks(olive, smtp, monkeypatch):
    server = smtp()
    people(45)
    monkeypatch.setattr(mailing_sender, "PREPARE_CHUNK", 10)
    monkeypatch.setattr(mailing_sender, "BATCH", 7)
    mailing = started(olive)
    worker = mailing_sender.Worker(mailing.pk, "x", None, lambda: False)
    Mailing.objects.filter(pk=mailing.pk).update(worker="x")
    chunks = []
    original = MailingRecipient.objects.bulk_create

    def counting(objs, *args, **kwargs):
        chunks.append(len(objs))
        return original(objs, *args, **kwargs)

    monkeypatch.setattr(MailingRecipient.objects, "bulk_create", counting)
    worker.prepare(worker.mailing)
    assert chunks == [10, 10, 10, 10, 5]
    assert Mailing.objects.get(pk=mailing.pk).prepared_upto == Affiliation.objects.order_by("pk").last().pk
    batch = worker._batch(0)
    assert len(batch) == 7
    Mailing.objects.filter(pk=mailing.pk).update(worker="")
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE and len(server.received) == 45
    assert len(list(services.iter_recipients(mailing, batch=4))) == 45
