"""``make bench BENCH_ARGS="--suite mail"``: reading mailboxes and filing suggestions (issue 10).

Rows, with the targets of issue 10:

- first read of a 10,000-message mailbox from nothing (``read_mailbox``; target 60 s): a real
  Dovecot (tests/mailservers.py) started by the child, one user, 10,000 mails appended beforehand:
  varied senders (some of them contacts), subjects, 2–30 KB text or text+HTML bodies, ~5 % with a
  50–200 KB PDF, ~20 % replies (In-Reply-To, References), a few auto-replies and bounces. Checked:
  every mail stored once (no duplicate Message-ID), auto-replies and bounces recognised;
- incremental read with nothing new (target 1 s): median and max of 10 reads;
- filing suggestions (``suggestions``) for 200 different inbox mails (the sender a contact or
  not, 1–10 recipients, some answering a filed mail) with 400,000 contacts at ~200,000 parties in
  the database (target 50 ms): p50, p95 and the SQL queries of one call.

Each database runs in its own child process on a fresh database (var/bench-mail/mail.sqlite3,
or ``suivi_bench_mail`` on BENCH_POSTGRES); the contacts are bulk-created, not through services.
"""

import base64
import json
import os
import quopri
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "var" / "bench-mail"
PG_NAME = "suivi_bench_mail"

MAILS = 10_000
CONTACTS = 400_000
PARTIES = 200_000
SUGGESTED = 200
INCREMENTAL_READS = 10


def _base() -> str:
    return os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def mail_env(database: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "suivi.settings",
        "SUIVI_VAR_DIR": str(FOLDER),
        "SUIVI_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
    }
    if database == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SUIVI_SQLITE_PATH"] = str(FOLDER / "mail.sqlite3")
    else:
        env["DATABASE_URL"] = f"{_base()}/{PG_NAME}"
    return env


def fresh_database(database: str, *, create: bool = True) -> bool:
    FOLDER.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(FOLDER / "media", ignore_errors=True)  # the .eml files of mails with attachments
    if database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (FOLDER / f"mail.sqlite3{suffix}").unlink(missing_ok=True)
        return True
    import psycopg

    try:
        with psycopg.connect(f"{_base()}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
            if create:
                conn.execute(f"CREATE DATABASE {PG_NAME}")
    except psycopg.OperationalError as e:
        print(f"PostgreSQL unreachable, skipped: {e}", file=sys.stderr)
        return False
    return True


# --- the dataset ----------------------------------------------------------------------------------

FIRST = ["Jean", "Marie", "Luc", "Sophie", "Pieter", "Anne", "Élodie", "François", "Koen", "Inès", "Hélène", "Tom"]
LAST = ["Dupont", "Peeters", "Janssens", "Lambert", "Dubois", "Maes", "Willems", "Mertens", "Simon", "Lefèvre"]
TRADES = ["Garage", "Boulangerie", "Atelier", "Transports", "Menuiserie", "Brasserie", "Imprimerie", "Cabinet"]
CITIES = ["Namur", "Liège", "Gent", "Bruxelles", "Charleroi", "Mons", "Leuven", "Brugge"]


def _ascii(text: str) -> str:
    from suivi.lib.text import fold

    return fold(text).replace(" ", "").replace("'", "")


def party_domain(n: int) -> str:
    return f"{_ascii(TRADES[n % len(TRADES)])}{n}.be"


def contact_email(index: int) -> str:
    """The address of contact ``index`` (0-based), two per party; one in ten stored capitalised."""
    first, last = FIRST[index % len(FIRST)], LAST[(index // 7) % len(LAST)]
    address = f"{_ascii(first)}.{_ascii(last)}{index}@{party_domain(index // 2 + 1)}"
    return address.title() if index % 10 == 3 else address


def build_contacts(rng: random.Random) -> None:
    """~200,000 parties, 400,000 contacts (two per party, one in twenty at a second party), bulk."""
    from django.db import transaction

    from suivi.lib.text import fold
    from suivi.parties.models import Affiliation, Contact, Party

    chunk = 20_000  # parties per round
    for start in range(1, PARTIES + 1, chunk):
        numbers = range(start, min(start + chunk, PARTIES + 1))
        with transaction.atomic():
            parties = []
            for n in numbers:
                name = f"{TRADES[n % len(TRADES)]} {LAST[n % len(LAST)]} {n}"
                city = CITIES[n % len(CITIES)]
                parties.append(
                    Party(
                        code=f"C{n:07d}",
                        name=name,
                        name_key=fold(name),
                        city=city,
                        city_key=fold(city),
                        is_customer=n % 3 != 0,
                        is_prospect=n % 3 == 0,
                        email=f"info@{party_domain(n)}" if n % 2 else "",
                        archived=n % 50 == 0,
                    )
                )
            Party.objects.bulk_create(parties, batch_size=2000)
            if parties[0].pk is None:
                ids = dict(Party.objects.filter(code__in=[p.code for p in parties]).values_list("code", "pk"))
                for p in parties:
                    p.pk = ids[p.code]
            contacts = []
            for p_index in range(len(parties)):
                for k in range(2):
                    index = (numbers[p_index] - 1) * 2 + k
                    first, last = FIRST[index % len(FIRST)], LAST[(index // 7) % len(LAST)]
                    contacts.append(
                        Contact(
                            first_name=first,
                            last_name=last,
                            email=contact_email(index),
                            language="fr",
                            name_key=fold(f"{last} {first}")[:201],
                        )
                    )
            Contact.objects.bulk_create(contacts, batch_size=2000)
            if contacts[0].pk is None:
                raise RuntimeError("bulk_create gave no primary keys: the database is too old for this benchmark")
            links = [
                Affiliation(
                    party=parties[i // 2], contact=c, function="Gérant" if i % 2 == 0 else "", is_main=i % 2 == 0
                )
                for i, c in enumerate(contacts)
            ]
            links += [
                Affiliation(party=parties[(i // 2 + 1) % len(parties)], contact=c, function="Conseiller")
                for i, c in enumerate(contacts)
                if rng.random() < 0.05 and (i // 2 + 1) % len(parties) != i // 2
            ]
            Affiliation.objects.bulk_create(links, batch_size=5000)


# --- the mails --------------------------------------------------------------------------------------

SENTENCES_FR = [
    "Suite à notre entretien téléphonique de ce matin, je vous confirme notre accord sur les points évoqués.",
    "Pourriez-vous nous faire parvenir une offre de prix détaillée pour la rénovation de la façade ?",
    "Vous trouverez ci-joint le bon de commande signé ainsi que les plans modifiés par notre architecte.",
    "Le chantier de la rue de la Station reprendra lundi, sous réserve des conditions météorologiques.",
    "Nous n'avons pas encore reçu le paiement de la facture 2024-0153, échue depuis le 15 du mois.",
    "Merci de bien vouloir confirmer la date de livraison des matériaux avant vendredi midi.",
    "Je reste à votre disposition pour toute information complémentaire et vous souhaite une bonne journée.",
    "La réunion de coordination est déplacée au jeudi 14 à 10 h dans nos bureaux de Namur.",
    "Notre technicien passera chez vous entre 8 h et 12 h pour l'entretien annuel de la chaudière.",
    "Pouvez-vous vérifier le numéro de TVA repris sur le devis ? Il ne correspond pas à celui de notre société.",
]
SENTENCES_NL = [
    "Naar aanleiding van ons telefoongesprek bevestig ik graag de afspraken die we gemaakt hebben.",
    "Kunt u ons een gedetailleerde offerte bezorgen voor de herstelling van het dak van het magazijn?",
    "In bijlage vindt u de ondertekende bestelbon en de aangepaste plannen van de architect.",
    "De levering is voorzien voor volgende week dinsdag, tussen 7 en 11 uur, aan de achteringang.",
    "Wij hebben de betaling van factuur 2024-0211 nog niet ontvangen; gelieve dit na te kijken.",
    "Met vriendelijke groeten en alvast bedankt voor uw snelle reactie op deze vraag.",
]
SENTENCES_EN = [
    "Following our call this morning, please find attached the revised proposal for the second phase.",
    "Could you let us know whether the installation can be scheduled before the end of the month?",
    "The invoice has been forwarded to our accounting department and will be paid within thirty days.",
    "We are still waiting for the signed delivery note; without it the order cannot be closed.",
    "Thank you for your quick answer, I will come back to you as soon as I hear from the board.",
]
SUBJECTS = [
    "Devis rénovation façade",
    "Commande {n} – confirmation",
    "Facture 2024-{n:04d}",
    "Rendez-vous chantier {city}",
    "Offerte dakwerken {city}",
    "Bestelling {n}",
    "Question sur votre offre",
    "Livraison matériaux semaine {w}",
    "Proposal for phase {w}",
    "Contrat d'entretien {year}",
    "Planning réunion de coordination",
    "Réclamation commande {n}",
    "Newsletter {city} – nos promotions de la semaine",
]
OUT_OF_OFFICE = ["Absence du bureau : {s}", "Out of Office: {s}", "Afwezig: {s}", "Réponse automatique : {s}"]


def _body(rng: random.Random, size: int) -> str:
    pool = rng.choice([SENTENCES_FR, SENTENCES_FR, SENTENCES_NL, SENTENCES_EN])
    out, length = [], 0
    while length < size:
        paragraph = " ".join(rng.choices(pool, k=rng.randint(2, 6)))
        out.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(out)


def _html(text: str, signature: str) -> str:
    paragraphs = "".join(f'<p style="margin:0 0 8px">{p}</p>\n' for p in text.split("\n\n"))
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{font-family:Calibri,sans-serif}</style>'
        f"</head><body><div>{paragraphs}</div><table><tr><td><b>{signature}</b><br>"
        '<a href="https://www.example.be/">www.example.be</a></td>'
        '<td><img src="https://www.example.be/logo.png" alt="logo" width="120"></td></tr></table></body></html>'
    )


def _part(content_type: str, text: str, rng: random.Random) -> bytes:
    data = text.encode("utf-8")
    if rng.random() < 0.7:
        encoding, payload = "quoted-printable", quopri.encodestring(data).replace(b"\n", b"\r\n")
    else:
        encoding, payload = "base64", base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'.encode()
        + payload
    )


def _multipart(subtype: str, parts: list[bytes], boundary: str, extra: str = "") -> bytes:
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"{extra}\r\n\r\n'.encode()
    body = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts)
    return head + b"This is a multi-part message in MIME format.\r\n" + body + f"--{boundary}--\r\n".encode()


def _pdf(rng: random.Random) -> bytes:
    size = rng.randint(50_000, 200_000)
    stream = rng.randbytes(size - 200)
    return (
        b"%PDF-1.4\n1 0 obj << /Length "
        + str(len(stream)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _person(address: str, rng: random.Random) -> str:
    local = address.split("@")[0].split(".")
    name = " ".join(w.strip("0123456789").capitalize() for w in local if w.strip("0123456789"))
    return formataddr((name, address)) if name and rng.random() < 0.8 else address


def make_mails(rng: random.Random, owner_address: str) -> tuple[list[bytes], dict]:
    """``MAILS`` raw mails, and what they are (kinds, known senders, replies)."""
    unknown_domains = [f"client{n}.example.com" for n in range(300)] + ["gmail.com", "outlook.be", "skynet.be"]
    colleagues = [f"{_ascii(f)}@suivi.test" for f in FIRST]
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    raws, ids, subjects = [], [], []
    info = {"auto_reply": 0, "bounce": 0, "conversation": 0, "replies": 0, "with_pdf": 0, "known_sender": []}

    def someone(known: bool) -> str:
        if known:
            return contact_email(rng.randrange(CONTACTS))
        if rng.random() < 0.1:
            return f"info@{party_domain(rng.randrange(1, PARTIES + 1, 2))}"  # a party's own address
        local = rng.choice(["contact", "sales", "j.martin", "noreply", "compta"])
        return f"{local}{rng.randrange(999)}@{rng.choice(unknown_domains)}"

    for n in range(MAILS):
        message_id = f"<{rng.getrandbits(64):016x}.{n}@{rng.choice(['mail.example.com', 'outlook.com', 'suivi.test'])}>"
        date = format_datetime(now - timedelta(minutes=(MAILS - n) * 97 + rng.randrange(60)))
        roll = rng.random()
        if roll < 0.01 and n:  # a bounce of one of ours
            info["bounce"] += 1
            lost = someone(rng.random() < 0.5)
            status = (
                f"Reporting-MTA: dns; mx.suivi.test\r\nArrival-Date: {date}\r\n\r\n"
                f"Final-Recipient: rfc822; {lost}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                f"Diagnostic-Code: smtp; 550 5.1.1 <{lost}>: Recipient address rejected: User unknown\r\n"
            )
            body = _multipart(
                "report",
                [
                    _part(
                        "text/plain", f"Delivery to the following recipient failed permanently:\n\n    {lost}\n", rng
                    ),
                    b"Content-Type: message/delivery-status\r\n\r\n" + status.encode(),
                    b"Content-Type: text/rfc822-headers\r\n\r\n"
                    + f"From: {owner_address}\r\nTo: {lost}\r\nSubject: {_header(rng.choice(subjects))}\r\n"
                    f"Message-ID: {rng.choice(ids)}\r\n".encode(),
                ],
                f"b{n}",
                "; report-type=delivery-status",
            )
            head = (
                f"From: Mail Delivery System <MAILER-DAEMON@mx.suivi.test>\r\nTo: {owner_address}\r\n"
                f"Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
            )
            raws.append(f"{head}Date: {date}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n".encode() + body)
            ids.append(message_id)
            subjects.append("Undelivered Mail Returned to Sender")
            continue
        known = rng.random() < 0.4
        sender = someone(known)
        count = min(10, max(1, int(rng.expovariate(0.45)) + 1))  # 1–10 recipients, mostly few
        others = [
            someone(rng.random() < 0.4) if rng.random() < 0.7 else rng.choice(colleagues) for _ in range(count - 1)
        ]
        to, cc = [owner_address, *others[: count // 2]], others[count // 2 :]
        headers = [f"From: {_person(sender, rng)}", "To: " + ", ".join(_person(a, rng) for a in to)]
        if cc:
            headers.append("Cc: " + ", ".join(_person(a, rng) for a in cc))
        auto = roll < 0.03 and n
        reply = not auto and n > 50 and rng.random() < 0.2
        if auto:
            info["auto_reply"] += 1
            subject = rng.choice(OUT_OF_OFFICE).format(s=rng.choice(subjects))
            headers += ["Auto-Submitted: auto-replied", f"In-Reply-To: {rng.choice(ids)}"]
        elif reply:
            info["replies"] += 1
            original = rng.randrange(max(0, n - 400), n)
            subject = "RE: " + subjects[original].removeprefix("RE: ")
            headers += [f"In-Reply-To: {ids[original]}", f"References: {ids[original]}"]
        else:
            subject = rng.choice(SUBJECTS).format(
                n=rng.randrange(10_000), city=rng.choice(CITIES), w=rng.randrange(1, 53), year=rng.choice([2025, 2026])
            )
        if not auto:
            info["conversation"] += 1
            if known:
                info["known_sender"].append(message_id)
        headers += [f"Subject: {_header(subject)}", f"Date: {date}", f"Message-ID: {message_id}", "MIME-Version: 1.0"]
        with_html = rng.random() < 0.6  # the usual text + HTML: each about half of the body
        text = _body(rng, rng.randint(2_000, 30_000) // (2 if with_html else 1))
        signature = _person(sender, rng).split("<")[0].strip('" ') or sender
        phone = f"+32 81 {rng.randrange(100, 999)} {rng.randrange(100, 999)}"
        text += f"\n\n--\n{signature}\n{rng.choice(TRADES)} {rng.choice(LAST)}\n{phone}"
        if reply:
            text += "\n\n" + "\n".join(f"> {line}" for line in _body(rng, 1500).splitlines())
        body = _part("text/plain", text, rng)
        if with_html:
            body = _multipart("alternative", [body, _part("text/html", _html(text, signature), rng)], f"a{n}")
        if not auto and rng.random() < 0.05:
            info["with_pdf"] += 1
            pdf = base64.encodebytes(_pdf(rng)).replace(b"\n", b"\r\n")
            attachment = (
                f'Content-Type: application/pdf; name="Devis-{n}.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
                f'Content-Disposition: attachment; filename="Devis-{n}.pdf"\r\n\r\n'.encode()
                + pdf
            )
            body = _multipart("mixed", [body, attachment], f"m{n}")
        raws.append(("\r\n".join(headers) + "\r\n").encode() + body)
        ids.append(message_id)
        subjects.append(subject)
    return raws, info


# --- the child ------------------------------------------------------------------------------------


def measure_mail(database: str) -> dict:
    """Runs inside the child process, with Django set up for ``database``."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import Lower
    from django.test.utils import CaptureQueriesContext

    from suivi.accounts.models import Role
    from suivi.accounts.services import create_user
    from suivi.mailing import inbox, services
    from suivi.mailing.models import IncomingMail, MailKind, Security
    from suivi.mailing.queries import suggestions
    from suivi.parties.models import Affiliation, Contact, Party
    from tests.mailservers import Dovecot

    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    rng = random.Random(10)
    setup = {}

    started = time.monotonic()
    build_contacts(rng)
    connection.cursor().execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    setup["contacts_s"] = round(time.monotonic() - started, 1)
    print(
        f"[{database}] {Contact.objects.count():,} contacts, {Party.objects.count():,} parties, "
        f"{Affiliation.objects.count():,} affiliations in {setup['contacts_s']} s",
        file=sys.stderr,
    )

    olive = create_user(
        acting_user=None, username="olive", password="x" * 20, role=Role.USER, language="fr", email="olive@suivi.test"
    )
    server = Dovecot()
    server.start()
    try:
        account = server.add_user()
        started = time.monotonic()
        raws, info = make_mails(rng, account.address)
        megabytes = sum(len(r) for r in raws) / 1024 / 1024
        for start in range(0, len(raws), 200):
            server.deliver_many(account, raws[start : start + 200])
        del raws
        setup["mails_s"] = round(time.monotonic() - started, 1)
        print(
            f"[{database}] {MAILS:,} mails ({megabytes:.0f} MB) made and appended in {setup['mails_s']} s",
            file=sys.stderr,
        )
        box = services.save_mailbox(
            acting_user=olive,
            mailbox=None,
            values={
                "name": "Olive",
                "address": account.address,
                "imap_host": server.host,
                "imap_port": server.port,
                "imap_security": Security.NONE,
                "login": account.login,
                "is_default": True,
            },
            password=account.password,
        )

        started = time.perf_counter()
        added = inbox.read_mailbox(box.pk)
        first_s = time.perf_counter() - started
        box.refresh_from_db()
        assert not box.last_error, box.last_error
        stored = IncomingMail.objects.filter(mailbox=box).count()
        distinct = IncomingMail.objects.filter(mailbox=box).values("message_id").distinct().count()
        kinds = dict(IncomingMail.objects.filter(mailbox=box).values_list("kind").annotate(n=Count("id")))
        assert added == stored == distinct == MAILS, (added, stored, distinct)
        assert kinds.get(MailKind.BOUNCE, 0) == info["bounce"], (kinds, info["bounce"])
        assert kinds.get(MailKind.AUTO_REPLY, 0) == info["auto_reply"], (kinds, info["auto_reply"])
        names = IncomingMail.objects.filter(mailbox=box).values_list("attachment_names", flat=True)
        assert sum(1 for n in names if n) == info["with_pdf"], info["with_pdf"]

        incremental = []
        for _ in range(INCREMENTAL_READS):
            started = time.perf_counter()
            assert inbox.read_mailbox(box.pk) == 0
            incremental.append(time.perf_counter() - started)
        assert IncomingMail.objects.filter(mailbox=box).count() == MAILS
    finally:
        server.stop()

    # Threads: file a hundred mails that others answer, so that those answers find their action.
    conversations = IncomingMail.objects.filter(mailbox=box, kind=MailKind.CONVERSATION)
    answered = set(conversations.exclude(in_reply_to="").values_list("in_reply_to", flat=True)[:150])
    filed = set()
    for mail in conversations.filter(message_id__in=answered)[:100]:
        party = Party.objects.filter(archived=False, code__gte=f"C{rng.randrange(1, PARTIES):07d}").order_by("code")[0]
        services.file_mail(acting_user=olive, mail=mail, party=party)
        filed.add(mail.message_id)
    known = set(info["known_sender"])
    candidates = list(conversations.exclude(message_id__in=filed).order_by("uid"))
    threaded = [m for m in candidates if m.in_reply_to in filed]
    rest = [m for m in candidates if m.in_reply_to not in filed]
    from_contacts = [m for m in rest if m.message_id in known]
    from_others = [m for m in rest if m.message_id not in known]
    sample = rng.sample(threaded, min(20, len(threaded)))
    sample += rng.sample(from_contacts, (SUGGESTED - len(sample)) // 2)
    sample += rng.sample(from_others, SUGGESTED - len(sample))
    rng.shuffle(sample)
    own = {box.address.lower()}
    for mail in sample[:3]:  # warm-up, not counted
        suggestions(olive, mail, own)
    timings, queries, found = [], [], 0
    for mail in sample:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = suggestions(olive, mail, own)
            timings.append(time.perf_counter() - started)
        queries.append(len(captured))
        found += bool(result)
    for mail in sample:  # the mails said to come from a contact do
        if mail.message_id in known:
            assert Contact.objects.alias(address=Lower("email")).filter(address=mail.sender_email.lower()).exists()
    timings.sort()
    return {
        "database": database,
        "mails": MAILS,
        "stored": stored,
        "kinds": kinds,
        "with_pdf": info["with_pdf"],
        "first_read_s": round(first_s, 1),
        "mails_per_s": round(MAILS / first_s),
        "incremental_median_s": round(statistics.median(incremental), 3),
        "incremental_max_s": round(max(incremental), 3),
        "contacts": CONTACTS,
        "suggested_mails": len(sample),
        "suggested_with_a_party": found,
        "suggestions_p50_ms": round(statistics.median(timings) * 1000, 1),
        "suggestions_p95_ms": round(timings[int(len(timings) * 0.95) - 1] * 1000, 1),
        "suggestions_queries": max(queries),
        "suggestions_queries_min": min(queries),
        "setup": setup,
    }


def run_mail(databases: list[str]) -> list[dict]:
    results = []
    for database in databases:
        if not fresh_database(database):
            continue
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "tests.bench.run", "--mail-child", database],
            env=mail_env(database),
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        result["child_s"] = round(time.monotonic() - started)
        results.append(result)
        fresh_database(database, create=False)  # 400,000 contacts and 10,000 mails are not kept
    print(
        f"\n{'mail':9} {'first read s':>12} {'mails/s':>8} {'stored':>7} {'incr. median s':>15} {'incr. max s':>12} "
        f"{'suggest p50 ms':>15} {'p95 ms':>7} {'queries':>8} {'suite s':>8}"
    )
    for r in results:
        print(
            f"{r['database']:9} {r['first_read_s']:12} {r['mails_per_s']:8} {r['stored']:7} "
            f"{r['incremental_median_s']:15} {r['incremental_max_s']:12} {r['suggestions_p50_ms']:15} "
            f"{r['suggestions_p95_ms']:7} {r['suggestions_queries']:8} {r['child_s']:8}"
        )
    print("targets: first read ≤ 60 s, incremental ≤ 1 s, suggestions ≤ 50 ms")
    return results
