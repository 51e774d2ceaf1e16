"""Demo data: a Belgian / French SME with users, parties and contacts.

``standard`` is what ``make run`` loads on first start; ``large`` is the benchmark dataset
(200,000 parties, 400,000 contacts), written with bulk inserts so it takes minutes.
"""

import os
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from stdnum import luhn
from stdnum.be import vat as be_vat
from stdnum.fr import tva as fr_vat
from stdnum.lu import tva as lu_vat
from stdnum.nl import btw as nl_vat

from suivi.accounts import services as account_services
from suivi.accounts.models import Role, User
from suivi.agenda.demo import load_agenda
from suivi.core.models import CompanySettings
from suivi.lib.text import fold, words
from suivi.parties.keywords import party_words
from suivi.parties.models import Affiliation, Category, Contact, Party, PartyKeyword
from suivi.sales.demo import load_sales
from suivi.sales.rules import load_demo_rules


@dataclass(frozen=True)
class Size:
    parties: int
    contacts_per_party: int
    users: int
    actions: int
    opportunities: int
    years: int


SIZES = {
    "standard": Size(300, 2, 5, 1_500, 40, 1),
    "large": Size(200_000, 2, 50, 1_000_000, 5_000, 5),
}

CITIES = [
    ("BE", "1000", "Bruxelles"),
    ("BE", "2000", "Antwerpen"),
    ("BE", "9000", "Gent"),
    ("BE", "4000", "Liège"),
    ("BE", "5000", "Namur"),
    ("BE", "6000", "Charleroi"),
    ("BE", "7000", "Mons"),
    ("BE", "8000", "Brugge"),
    ("BE", "3000", "Leuven"),
    ("BE", "1300", "Wavre"),
    ("BE", "1348", "Louvain-la-Neuve"),
    ("BE", "6700", "Arlon"),
    ("FR", "75008", "Paris"),
    ("FR", "59000", "Lille"),
    ("FR", "69002", "Lyon"),
    ("FR", "67000", "Strasbourg"),
    ("FR", "51100", "Reims"),
    ("FR", "57000", "Metz"),
    ("FR", "33000", "Bordeaux"),
    ("FR", "44000", "Nantes"),
    ("LU", "1110", "Luxembourg"),
    ("NL", "4811", "Breda"),
]
PREFIXES = [
    "Boulangerie",
    "Garage",
    "Imprimerie",
    "Atelier",
    "Brasserie",
    "Menuiserie",
    "Cabinet",
    "Transports",
    "Électricité",
    "Bureau",
    "Pharmacie",
    "Quincaillerie",
    "Bouwbedrijf",
    "Drukkerij",
    "Fiduciaire",
    "Laboratoire",
    "Hôtel",
    "Traiteur",
]
NAMES = [
    "Dupont",
    "Janssens",
    "Peeters",
    "Maes",
    "Lambert",
    "Dubois",
    "Martin",
    "Leroy",
    "Claes",
    "Goossens",
    "Wouters",
    "Mertens",
    "Willems",
    "Renard",
    "Lefèvre",
    "Moreau",
    "Simon",
    "Laurent",
    "Michel",
    "Garnier",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "De Smet",
    "Van Damme",
    "Hermans",
    "Jacobs",
    "Thiry",
    "Collignon",
    "Gérard",
    "Bernard",
]
SUFFIXES = ["SA", "SRL", "SPRL", "BV", "NV", "SAS", "SARL", "& Fils", "Frères", "", "", ""]
FIRST_NAMES = [
    "Marie",
    "Luc",
    "Sophie",
    "Thomas",
    "Emma",
    "Nicolas",
    "Julie",
    "Pieter",
    "Anne",
    "Jan",
    "Camille",
    "Lucas",
    "Sarah",
    "Wim",
    "Élodie",
    "Hugo",
    "Inès",
    "Koen",
    "Chloé",
    "Maxime",
    "Léa",
    "Bart",
    "Manon",
    "Olivier",
]
STREETS = [
    "Rue de la Loi",
    "Avenue Louise",
    "Meir",
    "Rue Neuve",
    "Korenmarkt",
    "Boulevard d'Avroy",
    "Rue de Fer",
    "Rue du Commerce",
    "Grand-Place",
    "Rue de la Station",
    "Chaussée de Waterloo",
    "Kerkstraat",
    "Rue Nationale",
]
# Functions in the language of the party's people.
FUNCTIONS = {
    "fr": ["Gérant", "Comptable", "Directrice commerciale", "Acheteur", "Assistante", "Responsable technique"],
    "nl": [
        "Zaakvoerder",
        "Boekhouder",
        "Commercieel directeur",
        "Aankoper",
        "Assistente",
        "Technisch verantwoordelijke",
    ],
}
DEAL_NAMES = ["Rénovation", "Contrat annuel", "Installation", "Audit", "Extension", "Maintenance"]
CATEGORIES = [
    ("Horeca", "#b54708"),
    ("Construction", "#6941c6"),
    ("Retail", "#067647"),
    ("Services", "#0f5fa8"),
    ("Industrie", "#b42318"),
    ("VIP", "#c11574"),
]
DEMO_USERS = [
    ("admin", "Alice", "Admin", Role.ADMINISTRATOR, ["Sales"]),
    ("sophie", "Sophie", "Lambert", Role.MANAGER, ["Sales"]),
    ("luc", "Luc", "Janssens", Role.USER, ["Sales"]),
    ("emma", "Emma", "Dubois", Role.USER, ["Support"]),
    ("thomas", "Thomas", "Peeters", Role.USER, ["Support"]),
]


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-admin.txt"


vat_numbers = {"BE": be_vat, "FR": fr_vat, "LU": lu_vat, "NL": nl_vat}

# Real number plans: the area code of each demo city, and the length of the subscriber part.
AREA_CODES = {
    "Bruxelles": "+322",
    "Antwerpen": "+323",
    "Gent": "+329",
    "Liège": "+324",
    "Namur": "+3281",
    "Charleroi": "+3271",
    "Mons": "+3265",
    "Brugge": "+3250",
    "Leuven": "+3216",
    "Wavre": "+3210",
    "Louvain-la-Neuve": "+3210",
    "Arlon": "+3263",
    "Paris": "+331",
    "Lille": "+333",
    "Lyon": "+334",
    "Strasbourg": "+333",
    "Reims": "+333",
    "Metz": "+333",
    "Bordeaux": "+335",
    "Nantes": "+332",
    "Luxembourg": "+35226",
    "Breda": "+3176",
}
NATIONAL_LENGTH = {"BE": 8, "FR": 9, "LU": 8, "NL": 9}  # digits after the country code
MOBILE_PREFIXES = {"BE": "+32475", "FR": "+336", "LU": "+352621", "NL": "+316"}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _valid_phone(prefix: str, country: str, rng: random.Random, *, mobile: bool = False) -> str:
    """A random number of ``prefix`` that the national plan accepts (as forms check it)."""
    national = 9 if mobile else NATIONAL_LENGTH[country]
    length = national - (len(prefix) - 1 - len(_COUNTRY_CODES[country]))
    for _attempt in range(1000):
        number = prefix + _digits(rng, length)
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number
    raise ValueError(f"no valid number under {prefix}")


_COUNTRY_CODES = {"BE": "32", "FR": "33", "LU": "352", "NL": "31"}


def _vat(country: str, rng: random.Random, used: set[str]) -> str:
    """A VAT number with correct check digits (as forms check it), unique in ``used``."""
    while True:
        if country == "BE":  # 10 digits: 0 or 1, 7 digits, then 97 − (first 8 mod 97)
            base = int(str(rng.randrange(2)) + _digits(rng, 7))
            number = f"BE{base:08d}{97 - base % 97:02d}"
        elif country == "FR":  # key = (12 + 3 × (SIREN mod 97)) mod 97, SIREN by Luhn
            head = str(rng.randrange(1, 10)) + _digits(rng, 7)
            siren = head + luhn.calc_check_digit(head)
            number = f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
        elif country == "LU":  # 6 digits, then their value mod 89
            head = str(rng.randrange(1, 10)) + _digits(rng, 5)
            number = f"LU{head}{int(head) % 89:02d}"
        else:  # NL: 9 digits passing the eleven test, B01
            head = _digits(rng, 8)
            total = sum(int(d) * w for d, w in zip(head, range(9, 1, -1), strict=True))
            check = total % 11
            if check == 10:
                continue
            number = f"NL{head}{check}B01"
        if number not in used and vat_numbers[country].is_valid(number):
            used.add(number)
            return number


def _party(number: int, rng: random.Random, users: list[User], used_vat: set[str]) -> Party:
    country, postal_code, city = rng.choice(CITIES)
    family = rng.choice(NAMES)
    name = f"{rng.choice(PREFIXES)} {family} {rng.choice(SUFFIXES)}".strip()
    slug = fold(family).replace(" ", "")
    roll = rng.random()
    return Party(
        code=f"C{number:06d}",
        name=name,
        is_customer=roll < 0.7,
        is_supplier=roll > 0.85,
        is_prospect=0.7 <= roll <= 0.85,
        vat_number=_vat(country, rng, used_vat) if rng.random() < 0.8 else "",
        email=f"info{number}@{slug}.example",
        phone=_valid_phone(AREA_CODES[city], country, rng),
        street=f"{rng.choice(STREETS)} {rng.randrange(1, 250)}",
        postal_code=postal_code,
        city=city,
        country=country,
        language="nl" if city in ("Antwerpen", "Gent", "Brugge", "Leuven", "Breda") else "fr",
        sales_rep=rng.choice(users),
        name_key=fold(name),
        city_key=fold(city),
    )


def ensure_users(count: int = len(DEMO_USERS)) -> tuple[list[User], str | None]:
    """Create the demo users once; return them and the password when it was just made."""
    password = None
    if not User.objects.filter(username="admin").exists():
        password = secrets.token_urlsafe(12)
        path = credentials_path()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(
                f"username: admin\npassword: {password}\n"
                f"(the other demo users — sophie, luc, emma, thomas — share it)\n"
            )
        os.chmod(path, 0o600)
    for username, first, last, role, groups in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = account_services.create_user(
                acting_user=None,
                username=username,
                password=password,
                role=role,
                first_name=first,
                last_name=last,
                email=f"{username}@suivi.example",
            )
            if role == Role.ADMINISTRATOR:
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
        for group in groups:
            user.groups.add(Group.objects.get_or_create(name=group)[0])
    rng = random.Random(11)
    for n in range(1, count - len(DEMO_USERS) + 1):
        username = f"user{n:02d}"
        if not User.objects.filter(username=username).exists():
            user = User(
                username=username,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(NAMES),
                email=f"{username}@suivi.example",
                role=Role.USER,
            )
            user.set_unusable_password()
            user.save()
            user.groups.add(Group.objects.get_or_create(name=rng.choice(["Sales", "Support"]))[0])
    return list(User.objects.order_by("id")[:count]), password


@transaction.atomic
def load(size: str = "standard", seed: int = 7, stdout=None) -> str | None:
    """Fill the database (idempotent: parties already there are kept, missing ones added)."""
    rng = random.Random(seed)
    target = SIZES[size]
    # The demo company shows every feature: opportunities (S6) and level M2 (billing of actions).
    CompanySettings.objects.get_or_create(
        pk=1, defaults={"company_name": "Demo SRL", "opportunities_enabled": True, "crm_level": "full"}
    )
    users, password = ensure_users(target.users)
    categories = [Category.objects.get_or_create(name=n, defaults={"colour": c})[0] for n, c in CATEGORIES]
    existing = Party.objects.filter(code__startswith="C").count()
    used_vat = set(Party.objects.exclude(vat_number="").values_list("vat_number", flat=True))
    batch = 5000
    for start in range(existing + 1, target.parties + 1, batch):
        numbers = range(start, min(start + batch, target.parties + 1))
        parties = [_party(n, rng, users, used_vat) for n in numbers]
        Party.objects.bulk_create(parties, batch_size=1000)
        if parties[0].pk is None:
            ids = dict(Party.objects.filter(code__in=[p.code for p in parties]).values_list("code", "pk"))
            for p in parties:
                p.pk = ids[p.code]
        PartyKeyword.objects.bulk_create(
            [PartyKeyword(party_id=p.pk, word=w) for p in parties for w in party_words(p)], batch_size=5000
        )
        Party.categories.through.objects.bulk_create(
            [
                Party.categories.through(party_id=p.pk, category_id=rng.choice(categories).pk)
                for p in parties
                if rng.random() < 0.6
            ],
            batch_size=5000,
        )
        contacts, links = [], []

        def mobile_of(party):
            return _valid_phone(MOBILE_PREFIXES[party.country], party.country, rng, mobile=True)

        for p in parties:
            for i in range(target.contacts_per_party):
                first, last = rng.choice(FIRST_NAMES), rng.choice(NAMES)
                c = Contact(
                    first_name=first,
                    last_name=last,
                    email=f"{fold(first)}.{fold(last).replace(' ', '')}.{p.pk}@example.com",
                    phone=p.phone,
                    mobile=_valid_phone(MOBILE_PREFIXES[p.country], p.country, rng, mobile=True)
                    if rng.random() < 0.5
                    else "",
                    language=p.language,
                    name_key=fold(f"{last} {first}"),
                )
                contacts.append(c)
                links.append((p, c, rng.choice(FUNCTIONS[p.language]), i == 0))
        Contact.objects.bulk_create(contacts, batch_size=1000)
        Affiliation.objects.bulk_create(
            [Affiliation(party=p, contact=c, function=f, is_main=m) for p, c, f, m in links], batch_size=5000
        )
        if stdout:
            stdout.write(f"  parties {numbers[-1]:,}/{target.parties:,}")
    load_crm(target, users, rng, stdout)
    load_sales()  # VAT rates, articles, journals with their layouts
    load_demo_rules()  # e-mailing a quote asks for a call back in 8 days, and so on
    load_agenda(users)  # a weekly team meeting, a monthly review, holidays, a part-time week, a leave
    return password


def load_crm(target: Size, users: list[User], rng: random.Random, stdout=None) -> None:
    """Folders, opportunities and actions over ``target.years`` years (bulk, idempotent)."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from suivi.activities.models import Action, ActionKeyword, ActionStatus, ActionType, Folder, Stage

    if Action.objects.count() >= target.actions:
        return
    types = list(ActionType.objects.all())
    stages = list(Stage.objects.all())
    party_ids = list(Party.objects.order_by("id").values_list("id", flat=True))
    today = timezone.localdate()
    existing = Folder.objects.filter(is_opportunity=True).count()
    folders = []
    for n in range(existing, target.opportunities):
        stage = rng.choice(stages)
        folders.append(
            Folder(
                name=f"{rng.choice(DEAL_NAMES)} {n + 1}",
                party_id=rng.choice(party_ids),
                followed_by=rng.choice(users),
                is_opportunity=True,
                opportunity_type=rng.choice(["Nouveau client", "Upsell", "Renouvellement"]),
                budget=Decimal(rng.randrange(10, 500) * 100),
                probability=stage.default_probability,
                stage=stage,
                expected_close=today + timedelta(days=rng.randrange(-30, 365)),
                source=rng.choice(["Salon", "Site web", "Recommandation", "Appel entrant"]),
            )
        )
    folders += [
        Folder(name=name)
        for name in ("Administration", "Support", "Prospection")
        if not Folder.objects.filter(name=name, party__isnull=True).exists()
    ]
    Folder.objects.bulk_create(folders, batch_size=2000)
    folder_of = {}
    for pk, party_id in Folder.objects.filter(party__isnull=False).values_list("id", "party_id"):
        folder_of.setdefault(party_id, pk)
    now = timezone.now().replace(second=0, microsecond=0)  # actions are kept to the minute
    span = target.years * 365 * 24 * 60
    subjects = [
        "Appel de suivi",
        "Envoi de l'offre",
        "Réunion de lancement",
        "Relance devis",
        "Visite chantier",
        "Question facture",
        "Démo produit",
        "Note interne",
    ]
    done = Action.objects.count()
    batch = 20_000
    for start in range(done, target.actions, batch):
        rows = []
        for _n in range(start, min(start + batch, target.actions)):
            when = now - timedelta(minutes=rng.randrange(-30 * 24 * 60, span))
            when = when.replace(minute=when.minute - when.minute % 15)  # on the agenda's quarter hours
            party_id = rng.choice(party_ids)
            kind = rng.choice(types)
            rows.append(
                Action(
                    subject=rng.choice(subjects),
                    action_type=kind,
                    party_id=party_id,
                    folder_id=folder_of.get(party_id) if rng.random() < 0.3 else None,
                    start=when,
                    end=when + timedelta(minutes=kind.default_duration),
                    when=when,
                    # Future actions are to do, and so are some of the last fortnight's: a
                    # first day starts with a few overdue ones, as real ones do.
                    status=ActionStatus.TODO
                    if when > now or (when > now - timedelta(days=14) and rng.random() < 0.3)
                    else rng.choice([ActionStatus.DONE] * 8 + [ActionStatus.CANCELLED]),
                    priority=2,
                    followed_by=rng.choice(users),
                    created_by=rng.choice(users),
                    private=rng.random() < 0.02,
                    billable=kind.billable_by_default,
                    duration_minutes=kind.default_duration,
                )
            )
        Action.objects.bulk_create(rows, batch_size=5000)
        ActionKeyword.objects.bulk_create(
            [ActionKeyword(action_id=a.pk, word=w) for a in rows for w in words(a.subject)], batch_size=5000
        )
        if stdout:
            stdout.write(f"  actions {min(start + batch, target.actions):,}/{target.actions:,}")
