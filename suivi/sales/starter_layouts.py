"""The layout a new journal starts with (users change it on the layout screen). Its words are
part of the template, in the layout's language, as a user would write them."""

LABELS = {
    "fr": {
        "to": "Destinataire",
        "date": "Date",
        "due": "Échéance",
        "ref": "Réf.",
        "description": "Description",
        "qty": "Qté",
        "price": "Prix unitaire",
        "discount": "Remise",
        "vat": "TVA",
        "amount": "Montant HTVA",
        "base": "Base",
        "total_excl": "Total HTVA",
        "total_incl": "Total TVAC",
        "vat_number": "N° TVA",
        "draft": "BROUILLON",
        "greeting": "Bonjour",
        "attached": "Vous trouverez en pièce jointe notre",
        "regards": "Cordialement",
    },
    "en": {
        "to": "To",
        "date": "Date",
        "due": "Due date",
        "ref": "Ref.",
        "description": "Description",
        "qty": "Qty",
        "price": "Unit price",
        "discount": "Discount",
        "vat": "VAT",
        "amount": "Amount excl. VAT",
        "base": "Base",
        "total_excl": "Total excl. VAT",
        "total_incl": "Total incl. VAT",
        "vat_number": "VAT no.",
        "draft": "DRAFT",
        "greeting": "Hello",
        "attached": "Please find attached our",
        "regards": "Kind regards",
    },
    "nl": {
        "to": "Aan",
        "date": "Datum",
        "due": "Vervaldag",
        "ref": "Ref.",
        "description": "Omschrijving",
        "qty": "Aantal",
        "price": "Eenheidsprijs",
        "discount": "Korting",
        "vat": "Btw",
        "amount": "Bedrag excl. btw",
        "base": "Basis",
        "total_excl": "Totaal excl. btw",
        "total_incl": "Totaal incl. btw",
        "vat_number": "Btw-nr.",
        "draft": "ONTWERP",
        "greeting": "Beste",
        "attached": "In bijlage vindt u onze",
        "regards": "Met vriendelijke groeten",
    },
}

HTML = """<header>
  <h1>{{ document.kind_label }} {{ document.number }}</h1>
  <p class="company">{{ company.name }}</p>
</header>
<section class="addressee">
  <p><strong>{{ party.name }}</strong><br>
  {% if contact.present %}{{ contact.name }}<br>{% endif %}
  {{ party.street }}<br>{{ party.postal_code }} {{ party.city }}<br>
  {% if party.vat_number %}[[vat_number]] {{ party.vat_number }}{% endif %}</p>
</section>
<p class="dates">[[date]] {{ document.date }}{% if document.due_date %} · [[due]] {{ document.due_date }}{% endif %}
{% if document.source_number %} · [[ref]] {{ document.source_number }}{% endif %}</p>
<table class="lines">
  <thead><tr><th>[[description]]</th><th class="n">[[qty]]</th><th class="n">[[price]]</th>
  <th class="n">[[discount]]</th><th class="n">[[vat]]</th><th class="n">[[amount]]</th></tr></thead>
  <tbody>
  {% for line in lines %}<tr><td>{{ line.description }}</td>
  <td class="n">{{ line.quantity|quantity }} {{ line.unit }}</td>
  <td class="n">{{ line.unit_price|amount }}</td>
  <td class="n">{% if line.discount_percent %}{{ line.discount_percent|quantity }} %{% endif %}</td>
  <td class="n">{{ line.vat_rate|quantity }} %</td><td class="n">{{ line.net|amount }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<table class="totals">
  {% for t in vat_totals %}<tr><td>[[vat]] {{ t.label }} · [[base]] {{ t.base|amount }}</td>
  <td class="n">{{ t.vat|amount }}</td></tr>{% endfor %}
  <tr><td>[[total_excl]]</td><td class="n">{{ document.total_excl|money }}</td></tr>
  <tr class="grand"><td>[[total_incl]]</td><td class="n">{{ document.total_incl|money }}</td></tr>
</table>
{% for t in vat_totals %}{% if t.mention %}<p class="mention">{{ t.mention }}</p>{% endif %}{% endfor %}
{% if document.notes %}<p class="notes">{{ document.notes }}</p>{% endif %}
"""

CSS = """h1 { font-size: 16pt; margin: 0 0 4mm; }
.company { color: #555; }
.addressee { margin: 8mm 0 6mm 95mm; }
table { width: 100%; border-collapse: collapse; }
.lines { table-layout: fixed; }
.lines th { border-bottom: 1px solid #333; text-align: left; font-size: 9pt; }
.lines th:first-child { width: 38%; }
.lines td { border-bottom: 1px solid #ddd; padding: 1.5mm 1mm; vertical-align: top; }
.n { text-align: right; white-space: nowrap; }
.totals { width: 60%; margin: 6mm 0 0 auto; }
.totals td { padding: 1mm; }
.grand td { font-weight: bold; border-top: 1px solid #333; }
.mention, .notes { font-size: 9pt; margin-top: 6mm; }
"""

SUBJECT = "{{ document.kind_label }} {{ document.number }} · {{ company.name }}"
BODY = """[[greeting]]{% if contact.present %} {{ contact.first_name }}{% endif %},

[[attached]] {{ document.kind_label|lower }} {{ document.number }} ({{ document.total_incl|money }}).

[[regards]],
{{ company.name }}
"""


def _fill(template: str, labels: dict[str, str]) -> str:
    for key, word in labels.items():
        template = template.replace(f"[[{key}]]", word)
    return template


def starter(language: str) -> dict[str, str]:
    """The fields of a starter layout in ``language`` (fr, en or nl)."""
    labels = LABELS.get(language, LABELS["fr"])
    return {
        "html_template": _fill(HTML, labels),
        "css": CSS,
        "email_subject_template": SUBJECT,
        "email_body_template": _fill(BODY, labels),
    }
