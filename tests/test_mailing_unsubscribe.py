"""Unsubscribing (issue 11, point 6; RFC 8058; RELIABILITY M9): every mail of an e-mailing, as a
real SMTP server receives it, carries ``List-Unsubscribe`` with its recipient's signed link and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; the mail client's one-click POST — no
cookie, no CSRF token — opts the address out at once; a link scanner's GET changes nothing; a
bad or tampered token is a 404; later e-mailings skip the address."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.test import Client

from suivi.mailing import mailing_sender
from suivi.mailing import mailing_services as services
from suivi.mailing.mailings import (
    Mailing,
    MailingOptOut,
    MailingRecipient,
    OptOutSource,
    RecipientReason,
    RecipientStatus,
)

from .mailservers import smtp_server  # noqa: F401  (fixture)
from .test_mailing_pages import _loopback, new_mailing, olive, people, use_server  # noqa: F401  (fixtures)

ONE_CLICK = "List-Unsubscribe=One-Click"


def sent(user) -> Mailing:
    mailing = new_mailing(user)
    mailing = services.start(acting_user=user, mailing=mailing, expected_version=mailing.version)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    return mailing


def one_click(path: str):
    """The POST a mail client makes (RFC 8058 §3.2): no cookie, no CSRF token, the one field."""
    client = Client(enforce_csrf_checks=True)
    return client.post(path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")


def test_each_mail_carries_its_one_click_link_and_the_post_opts_out_at_once(olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(3)
    mailing = sent(olive)
    by_address = {rcpts[0]: message for rcpts, message in smtp_server.messages}
    message = by_address["p1@example.test"]
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    link = message["List-Unsubscribe"].strip()
    assert link.startswith("<https://crm.acme.test/u/") and link.endswith("/>")
    path = urlsplit(link.strip("<>")).path
    links = {a: urlsplit(m["List-Unsubscribe"].strip().strip("<>")).path for a, m in by_address.items()}
    assert len(set(links.values())) == 3  # one link per recipient
    assert "p1@example.test" not in path and "example" not in path  # not written out in the link
    # a link scanner (or a person) opening the link: a page with a button, nothing changed
    for method in ("get", "head"):
        seen = getattr(Client(), method)(path)
        assert seen.status_code == 200
    page = Client().get(path).content.decode()
    assert "data-unsubscribe-button" in page and "p1@example.test" in page
    assert not MailingOptOut.objects.exists()
    # the mail client's one-click POST
    answer = one_click(path)
    assert answer.status_code == 200 and "data-done" in answer.content.decode()
    opted = MailingOptOut.objects.get()
    assert (opted.address, opted.source, opted.mailing) == ("p1@example.test", OptOutSource.ONE_CLICK, mailing)
    # idempotent: again, and by the page's button
    assert one_click(path).status_code == 200
    assert Client().post(path, {"confirm": "1"}).status_code == 200
    assert MailingOptOut.objects.count() == 1
    assert "data-done" in Client().get(path).content.decode()


def test_later_e_mailings_skip_the_address(olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(3)
    sent(olive)
    assert one_click(f"/u/{services.unsubscribe_token('P2@Example.test')}/").status_code == 200
    received = len(smtp_server.messages)
    later = sent(olive)
    skipped = MailingRecipient.objects.get(mailing=later, address_key="p2@example.test")
    assert (skipped.status, skipped.reason_code) == (RecipientStatus.SKIPPED, RecipientReason.OPTED_OUT)
    assert sorted(r[0][0] for r in smtp_server.messages[received:]) == ["p0@example.test", "p1@example.test"]


def test_an_address_opting_out_while_an_e_mailing_is_sent_gets_no_more_of_it(olive):  # noqa: F811
    people(3)
    mailing = new_mailing(olive)
    mailing = services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
    Mailing.objects.filter(pk=mailing.pk).update(worker="t")
    mailing_sender.Worker(mailing.pk, "t", None, None).prepare(Mailing.objects.get(pk=mailing.pk))
    one_click(f"/u/{services.unsubscribe_token('p0@example.test')}/")
    row = MailingRecipient.objects.get(mailing=mailing, address_key="p0@example.test")
    assert (row.status, row.reason_code) == (RecipientStatus.SKIPPED, RecipientReason.OPTED_OUT)
    assert MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.PENDING).count() == 2


def test_a_bad_or_tampered_token_is_a_404_and_changes_nothing(db):
    good = services.unsubscribe_token("someone@example.test")
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    from django.core import signing

    other_salt = signing.dumps("someone@example.test", salt="another.purpose")
    for token in ("nonsense", tampered, other_salt, "x" * 2000):
        for method in ("get", "post"):
            answer = getattr(Client(enforce_csrf_checks=True), method)(f"/u/{token}/")
            assert answer.status_code == 404, (token, method)
    assert "not valid" in Client().get("/u/nonsense/").content.decode()
    assert not MailingOptOut.objects.exists()
    assert Client().put(f"/u/{good}/").status_code == 405


def test_the_unsubscribe_token_does_not_show_the_address_and_cannot_be_made_for_another():
    import base64

    from suivi.mailing.mailing_services import address_of_token, unsubscribe_token

    token = unsubscribe_token("Jean.Dupont@Example.com")
    padded = token + "=" * (-len(token) % 4)
    assert b"jean" not in base64.urlsafe_b64decode(padded).lower() and "jean" not in token.lower()
    assert address_of_token(token) == "jean.dupont@example.com"
    assert address_of_token(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]) is None
    assert address_of_token("not-a-token") is None
