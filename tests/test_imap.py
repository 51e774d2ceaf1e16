"""Suivi's IMAP client against a real Dovecot on loopback: the connection check step by step, Drafts filed
once by Message-ID, and the incremental read of a folder by UIDVALIDITY and last UID."""

import socket
import time
from email.message import EmailMessage

import pytest

from suivi.mailing.imap import Batch, ImapSession, ImapSettings, MailboxError, check_connection, session

from .mailservers import Dovecot, dovecot, self_signed_certificate  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


@pytest.fixture
def user(dovecot):  # noqa: F811
    return dovecot.add_user()


def settings_for(server, user, **changes) -> ImapSettings:
    values = {"host": server.host, "port": server.port, "security": "none", "login": user.login}
    values.update(password=user.password, timeout=5.0)
    values.update(changes)
    return ImapSettings(**values)


def mail(n: int, *, size: int = 0, message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Client {n} <client{n}@dupont.example>"
    message["To"] = "sales@suivi.test"
    message["Subject"] = f"Order {n}"
    message["Message-ID"] = message_id or f"<order-{n}@dupont.example>"
    message.set_content(f"Hello, order number {n}.\n" + "Lorem ipsum dolor sit amet, consectetur.\n" * (size // 42))
    return message.as_bytes()


def names(steps):
    return [(step, ok) for step, ok, _message in steps]


# --- check_connection -----------------------------------------------------------------------------------------


def test_a_good_mailbox_passes_every_step(dovecot, user):  # noqa: F811
    steps = check_connection(settings_for(dovecot, user))
    assert names(steps) == [("dns", True), ("tcp", True), ("login", True), ("folder", True)]  # no TLS for "none"
    assert all(message for _s, _ok, message in steps)
    assert "Drafts" in steps[-1][2] and user.login in steps[2][2]


def test_a_wrong_password_fails_at_login_without_echoing_it_and_does_not_slow_the_next_login(dovecot, user):  # noqa: F811
    secret = "Wrong-Secret-4711"
    steps = check_connection(settings_for(dovecot, user, password=secret))
    assert names(steps) == [("dns", True), ("tcp", True), ("login", False)]
    message = steps[-1][2]
    assert user.login in message and "password" in message and secret not in message
    with pytest.raises(MailboxError) as caught:
        with session(settings_for(dovecot, user, password=secret)):
            pass
    assert caught.value.step == "login" and secret not in str(caught.value)
    # Dovecot's penalty after a failed login (seconds) is switched off by the fixture: the next one is quick.
    started = time.monotonic()
    assert names(check_connection(settings_for(dovecot, user)))[-1] == ("folder", True)
    elapsed = time.monotonic() - started
    print(f"\nlogin right after a failed one: {elapsed * 1000:.0f} ms")
    assert elapsed < 1.5


def test_a_closed_port_fails_at_tcp(dovecot, user):  # noqa: F811
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    steps = check_connection(settings_for(dovecot, user, port=closed_port))
    assert names(steps) == [("dns", True), ("tcp", False)]
    assert f"127.0.0.1:{closed_port}" in steps[-1][2] and "port" in steps[-1][2]


def test_ssl_against_a_plain_port_fails_at_tls_and_starttls_where_none_is_offered_too(dovecot, user):  # noqa: F811
    steps = check_connection(settings_for(dovecot, user, security="ssl"))
    assert names(steps) == [("dns", True), ("tcp", True), ("tls", False)]
    assert "SSL" in steps[-1][2] and "993" in steps[-1][2]
    steps = check_connection(settings_for(dovecot, user, security="starttls"))
    assert names(steps) == [("dns", True), ("tcp", True), ("tls", False)]
    assert "STARTTLS" in steps[-1][2]


def test_a_private_host_is_refused_by_the_guard_unless_allowed(dovecot, user, settings):  # noqa: F811
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = []
    steps = check_connection(settings_for(dovecot, user))
    assert names(steps) == [("dns", False)]
    assert "SUIVI_ALLOWED_PRIVATE_HOSTS" in steps[0][2]
    with pytest.raises(MailboxError) as caught:
        with session(settings_for(dovecot, user, host="localhost")):
            pass
    assert caught.value.step == "dns"


def test_an_unknown_host_name_fails_at_dns(dovecot, user):  # noqa: F811
    steps = check_connection(settings_for(dovecot, user, host="imap.no-such-host.invalid"))
    assert names(steps) == [("dns", False)] and "imap.no-such-host.invalid" in steps[0][2]


@pytest.fixture(scope="module")
def dovecot_tls(tmp_path_factory):
    """A second Dovecot with a certificate for "localhost": STARTTLS on `port`, SSL on `tls_port`."""
    certificate = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    server = Dovecot(tls=certificate)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_ssl_and_starttls_pass_every_step_with_a_trusted_certificate(dovecot_tls, monkeypatch):
    user = dovecot_tls.add_user()
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_tls.tls[0]))  # the test's own authority, for OpenSSL
    for port, security in [(dovecot_tls.tls_port, "ssl"), (dovecot_tls.port, "starttls")]:
        steps = check_connection(settings_for(dovecot_tls, user, host="localhost", port=port, security=security))
        assert names(steps) == [("dns", True), ("tcp", True), ("tls", True), ("login", True), ("folder", True)]
        assert "TLSv1.3" in steps[2][2] or "TLSv1.2" in steps[2][2]
    settings = settings_for(dovecot_tls, user, host="localhost", port=dovecot_tls.tls_port, security="ssl")
    with session(settings) as imap:
        assert imap.append_draft_once(mail(1), "<order-1@dupont.example>")[2]


def test_an_untrusted_certificate_fails_at_tls_and_so_does_plain_imap_on_the_ssl_port(dovecot_tls):
    user = dovecot_tls.add_user()
    for port, security in [(dovecot_tls.tls_port, "ssl"), (dovecot_tls.port, "starttls")]:
        steps = check_connection(settings_for(dovecot_tls, user, host="localhost", port=port, security=security))
        assert names(steps) == [("dns", True), ("tcp", True), ("tls", False)]
        assert "certificate of localhost could not be verified" in steps[-1][2]
    steps = check_connection(settings_for(dovecot_tls, user, port=dovecot_tls.tls_port, timeout=0.5))
    assert names(steps) == [("dns", True), ("tcp", True), ("server", False)] and "choose SSL" in steps[-1][2]


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server
    server.close()


def test_a_server_that_never_answers_times_out_with_a_message(user, silent_server):
    port = silent_server.getsockname()[1]
    quiet = ImapSettings("127.0.0.1", port, "none", user.login, user.password, timeout=0.5)
    started = time.monotonic()
    steps = check_connection(quiet)
    assert names(steps) == [("dns", True), ("tcp", True), ("server", False)]
    assert "did not answer as an IMAP" in steps[-1][2] and "SSL" in steps[-1][2]
    steps = check_connection(ImapSettings("127.0.0.1", port, "ssl", user.login, user.password, timeout=0.5))
    assert names(steps) == [("dns", True), ("tcp", True), ("tls", False)] and "0.5 seconds" in steps[-1][2]
    assert time.monotonic() - started < 3


def test_the_password_is_not_in_the_settings_repr(user):
    assert user.password not in repr(ImapSettings("imap.example", 993, "ssl", user.login, user.password))


def test_a_server_message_echoing_the_password_is_masked():
    from suivi.mailing.imap import _server_text

    assert _server_text(Exception("b'NO login failed: hunter22 is wrong'"), "hunter22") == "NO login failed: … is wrong"


def test_a_lost_connection_is_a_server_error(dovecot, user):  # noqa: F811
    with pytest.raises(MailboxError) as caught:
        with session(settings_for(dovecot, user)) as imap:
            imap._client.shutdown()  # the server goes away
            imap.has_message("INBOX", "<x@y>")
    assert caught.value.step == "server"


# --- special folders ------------------------------------------------------------------------------------------


def test_drafts_and_sent_are_found_by_special_use(dovecot, user):  # noqa: F811
    with dovecot.client(user) as client:
        client.create_folder("Brouillons")  # a usual name, but the server marks Drafts
    with session(settings_for(dovecot, user)) as imap:
        assert imap.special_folder("\\Drafts") == "Drafts"
        assert imap.special_folder("\\Sent") == "Sent"


class FakeListing:
    """Just enough of IMAPClient for special_folder: a LIST answer and no SPECIAL-USE."""

    def __init__(self, folders):
        self.folders = folders

    def list_folders(self):
        return self.folders

    def has_capability(self, name):
        return False


def listing(*folders, delimiter=b"/"):
    return [((b"\\HasNoChildren", *extra), delimiter, name) for name, *extra in folders]


@pytest.mark.parametrize(
    ("folders", "use", "expected"),
    [
        (listing(("INBOX",), ("Brouillons",), ("Éléments envoyés",)), "\\Drafts", "Brouillons"),
        (listing(("INBOX",), ("Brouillons",), ("Éléments envoyés",)), "\\Sent", "Éléments envoyés"),
        (
            listing(("INBOX",), ("INBOX.Concepten",), ("INBOX.Verzonden items",), delimiter=b"."),
            "\\Drafts",
            "INBOX.Concepten",
        ),
        (
            listing(("INBOX",), ("INBOX.Concepten",), ("INBOX.Verzonden items",), delimiter=b"."),
            "\\Sent",
            "INBOX.Verzonden items",
        ),
        (listing(("INBOX",), ("Entwürfe",), ("Gesendete Elemente",)), "\\Drafts", "Entwürfe"),
        (
            listing(("INBOX",), ("[Gmail]", b"\\Noselect"), ("[Gmail]/Drafts",), ("[Gmail]/Sent Mail",)),
            "\\Sent",
            "[Gmail]/Sent Mail",
        ),
        (listing(("Archive/Drafts",), ("DRAFTS",)), "\\Drafts", "DRAFTS"),  # a whole name before a last part
        (listing(("Drafts", b"\\Noselect"), ("INBOX/Drafts",)), "\\Drafts", "INBOX/Drafts"),
        (listing(("Drafts",), ("Mes brouillons", b"\\Drafts")), "\\Drafts", "Mes brouillons"),  # marked first
        (
            listing(
                ("Sent Messages",),
            ),
            "\\Sent",
            "Sent Messages",
        ),
    ],
)
def test_special_folders_are_found_by_usual_names_when_the_server_marks_none(folders, use, expected):
    imap = ImapSession(FakeListing(folders), ImapSettings("imap.example", 993, "ssl", "me", "pw"))
    assert imap.special_folder(use) == expected


def test_no_drafts_folder_at_all_is_a_folder_error_with_a_message():
    imap = ImapSession(
        FakeListing(listing(("INBOX",), ("Archive",))), ImapSettings("imap.example", 993, "ssl", "me", "pw")
    )
    with pytest.raises(MailboxError) as caught:
        imap.special_folder("\\Drafts")
    assert caught.value.step == "folder" and "imap.example" in caught.value.message


# --- drafts ---------------------------------------------------------------------------------------------------


def drafts_of(dovecot, user):  # noqa: F811
    with dovecot.client(user) as client:
        client.select_folder("Drafts", readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    return {
        uid: (set(data[b"FLAGS"]), data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[1].strip())
        for uid, data in fetched.items()
    }


def test_a_draft_is_filed_once_with_the_draft_flag_whatever_the_retries(dovecot, user):  # noqa: F811
    raw = mail(1, message_id="<quote-2025-00001.7@suivi.test>")
    with session(settings_for(dovecot, user)) as imap:
        folder, uid, appended = imap.append_draft_once(raw, "<quote-2025-00001.7@suivi.test>")
        assert (folder, appended) == ("Drafts", True) and uid
        assert imap.append_draft_once(raw, "<quote-2025-00001.7@suivi.test>") == ("Drafts", uid, False)
    with session(settings_for(dovecot, user)) as imap:  # a retried job, a new connection, no brackets
        assert imap.append_draft_once(raw, "quote-2025-00001.7@suivi.test") == ("Drafts", uid, False)
        assert imap.has_message("Drafts", "<quote-2025-00001.7@suivi.test>") == uid
        assert imap.has_message("Drafts", "<quote-2025-00001.8@suivi.test>") is None
    drafts = drafts_of(dovecot, user)
    assert list(drafts) == [uid]
    flags, message_id = drafts[uid]
    assert {b"\\Draft", b"\\Seen"} <= flags and message_id == "<quote-2025-00001.7@suivi.test>"


def test_a_message_id_contained_in_another_one_is_another_draft(dovecot, user):  # noqa: F811
    with session(settings_for(dovecot, user)) as imap:
        _f, first, _a = imap.append_draft_once(mail(1, message_id="<a1@suivi.test>"), "<a1@suivi.test>")
        _f, second, appended = imap.append_draft_once(mail(2, message_id="<1@suivi.test>"), "<1@suivi.test>")
    assert appended and second != first and len(drafts_of(dovecot, user)) == 2


def test_an_unusable_message_id_is_refused_before_anything_is_sent(dovecot, user):  # noqa: F811
    with session(settings_for(dovecot, user)) as imap:
        for bad in ["", "<a b@c>", '<a"b@c>', "<é@c>"]:
            with pytest.raises(ValueError):
                imap.append_draft_once(mail(1), bad)
    assert drafts_of(dovecot, user) == {}


# --- incremental read -----------------------------------------------------------------------------------------


def read_all(imap, folder, uidvalidity, last_uid, **options) -> list[Batch]:
    return list(imap.read_new(folder, uidvalidity, last_uid, **options))


def uids_of(batches):
    return [uid for batch in batches for uid, _raw in batch.mails]


def test_new_mails_are_read_once_in_uid_order_without_being_marked_seen(dovecot, user):  # noqa: F811
    for n in (1, 2, 3):
        dovecot.deliver(user, mail(n))
    with session(settings_for(dovecot, user)) as imap:
        (first,) = read_all(imap, "INBOX", None, 0)
        assert [uid for uid, _r in first.mails] == [1, 2, 3] and first.last_uid == 3 and first.resynced
        assert all(b"Subject: Order %d" % n in raw for n, (_u, raw) in zip((1, 2, 3), first.mails, strict=True))
        assert read_all(imap, "INBOX", first.uidvalidity, first.last_uid) == []
        dovecot.deliver(user, mail(4))
        dovecot.deliver(user, mail(5))
        (second,) = read_all(imap, "INBOX", first.uidvalidity, first.last_uid)
        assert [uid for uid, _r in second.mails] == [4, 5] and second.last_uid == 5 and not second.resynced
        assert b"Subject: Order 5" in second.mails[1][1] and second.uidvalidity == first.uidvalidity
    with dovecot.client(user) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("SEEN") == []  # BODY.PEEK: the user's mail stays unread


def test_nothing_new_costs_one_select_and_takes_a_few_milliseconds(dovecot, user):  # noqa: F811
    for n in range(1, 4):
        dovecot.deliver(user, mail(n))
    with session(settings_for(dovecot, user)) as imap:
        (batch,) = read_all(imap, "INBOX", None, 0)
        sent = []
        connection = imap._client._imap
        original_send = connection.send
        connection.send = lambda data: (sent.append(bytes(data)), original_send(data))[1]
        started = time.perf_counter()
        assert read_all(imap, "INBOX", batch.uidvalidity, batch.last_uid) == []
        elapsed = time.perf_counter() - started
        commands = [line.split(b" ")[1:3] for line in sent if line.startswith(connection.tagpre)]  # no LOGOUT
    print(f"\nincremental read with nothing new: {elapsed * 1000:.1f} ms, commands {commands}")
    assert [c[0] for c in commands] == [b"EXAMINE"] and elapsed < 1.0  # the target; ~1 ms idle


def test_uid_star_returning_the_last_mail_is_not_read_again(dovecot, user):  # noqa: F811
    # "UID 6:*" matches the last mail (uid 5) when nothing is above it: UIDNEXT is 7 after uid 6 was expunged.
    for n in range(1, 7):
        dovecot.deliver(user, mail(n))
    with dovecot.client(user) as client:
        client.select_folder("INBOX")
        client.delete_messages([6])
        client.expunge()
    with session(settings_for(dovecot, user)) as imap:
        (batch,) = read_all(imap, "INBOX", None, 0)
        assert batch.last_uid == 5
        assert read_all(imap, "INBOX", batch.uidvalidity, 5) == []


def test_a_changed_uidvalidity_reads_the_folder_again_from_its_start(dovecot, user):  # noqa: F811
    with dovecot.client(user) as client:
        client.create_folder("Projects")
    for n in (1, 2):
        dovecot.deliver(user, mail(n), folder="Projects")
    with session(settings_for(dovecot, user)) as imap:
        (batch,) = read_all(imap, "Projects", None, 0)
        (again,) = read_all(imap, "Projects", batch.uidvalidity + 1, batch.last_uid)  # a stale state
        assert again.resynced and uids_of([again]) == [1, 2]
    with dovecot.client(user) as client:  # the folder deleted and created again: new UIDVALIDITY
        client.delete_folder("Projects")
        client.create_folder("Projects")
    for n in (3, 4, 5):
        dovecot.deliver(user, mail(n), folder="Projects")
    with session(settings_for(dovecot, user)) as imap:
        (fresh,) = read_all(imap, "Projects", batch.uidvalidity, batch.last_uid)
    assert fresh.resynced and fresh.uidvalidity != batch.uidvalidity
    assert uids_of([fresh]) == [1, 2, 3] and b"Order 3" in fresh.mails[0][1]


def test_a_deleted_folder_is_a_folder_error_naming_it(dovecot, user):  # noqa: F811
    with dovecot.client(user) as client:
        client.create_folder("Clients/Dupont")
    with session(settings_for(dovecot, user)) as imap:
        assert read_all(imap, "Clients/Dupont", None, 0) == []
        with dovecot.client(user) as client:
            client.delete_folder("Clients/Dupont")
        with pytest.raises(MailboxError) as caught:
            read_all(imap, "Clients/Dupont", 1, 0)
        assert caught.value.step == "folder" and "Clients/Dupont" in caught.value.message
        assert imap.special_folder("\\Drafts") == "Drafts"  # the session goes on


def test_a_folder_with_an_accented_name_is_read(dovecot, user):  # noqa: F811
    with dovecot.client(user) as client:
        client.create_folder("Éléments reçus")
    dovecot.deliver(user, mail(1), folder="Éléments reçus")
    with session(settings_for(dovecot, user)) as imap:
        assert uids_of(read_all(imap, "Éléments reçus", None, 0)) == [1]


def test_batches_are_capped_by_count_and_by_bytes_and_survive_other_calls_in_between(dovecot, user):  # noqa: F811
    dovecot.deliver_many(user, [mail(n, size=10_000) for n in range(1, 8)])
    with session(settings_for(dovecot, user)) as imap:
        by_count = read_all(imap, "INBOX", None, 0, batch=3)
        assert [len(b.mails) for b in by_count] == [3, 3, 1] and [b.last_uid for b in by_count] == [3, 6, 7]
        by_bytes = read_all(imap, "INBOX", None, 0, max_batch_bytes=25_000)
        assert [len(b.mails) for b in by_bytes] == [2, 2, 2, 1]
        assert read_all(imap, "INBOX", None, 0, max_batch_bytes=1)[0].mails[0][0] == 1  # one mail at least
        seen = []
        for batch in imap.read_new("INBOX", None, 0, batch=2):
            seen.extend(uid for uid, _raw in batch.mails)
            imap.has_message("Drafts", "<elsewhere@suivi.test>")  # selects another folder between batches
        assert seen == list(range(1, 8))


def test_a_thousand_mails_are_read_in_batches_quickly(dovecot, user):  # noqa: F811
    raws = [mail(n, size=2_000 + (n % 7) * 1_500) for n in range(1, 1001)]
    dovecot.deliver_many(user, raws)
    with session(settings_for(dovecot, user, timeout=30)) as imap:
        started = time.perf_counter()
        batches = read_all(imap, "INBOX", None, 0)
        elapsed = time.perf_counter() - started
    total_bytes = sum(len(raw) for b in batches for _u, raw in b.mails)
    print(
        f"\n1,000 mails ({total_bytes / 1e6:.1f} MB) read in {elapsed:.2f} s, "
        f"{elapsed * 1000 / len(raws):.2f} ms a mail, {len(batches)} batches"
    )
    assert [len(b.mails) for b in batches] == [200] * 5
    assert uids_of(batches) == list(range(1, 1001)) and [b.last_uid for b in batches][-1] == 1000
    assert batches[-1].mails[-1][1].replace(b"\r\n", b"\n") == raws[-1].replace(b"\r\n", b"\n")
    assert elapsed < 10  # about 0.2 s on an idle machine; the target is 10,000 mails in 60 s with parsing
