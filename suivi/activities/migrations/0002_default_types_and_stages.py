"""The action types and pipeline stages a new company starts with (editable afterwards).

Icons are symbols that the common system fonts carry (no emoji font is assumed)."""

from django.db import migrations

TYPES = [
    # fr, en, nl, colour, icon, minutes, billable, calendar
    ("Appel", "Call", "Telefoon", "#0f5fa8", "☎", 15, False, False),
    ("Réunion", "Meeting", "Vergadering", "#6941c6", "◎", 60, True, True),
    ("E-mail", "E-mail", "E-mail", "#067647", "@", 10, False, False),
    ("Courrier", "Letter", "Brief", "#475467", "✉", 20, False, False),
    ("Visite", "Visit", "Bezoek", "#b54708", "⌂", 90, True, True),
    ("Tâche", "Task", "Taak", "#c11574", "✓", 30, False, False),
    ("Note", "Note", "Notitie", "#667085", "✎", 5, False, False),
]
STAGES = [("Qualification", 10), ("Proposition", 30), ("Négociation", 60), ("Closing", 80)]


def create(apps, schema_editor):
    ActionType = apps.get_model("activities", "ActionType")
    Stage = apps.get_model("activities", "Stage")
    if not ActionType.objects.exists():
        for position, (fr, en, nl, colour, icon, minutes, billable, calendar) in enumerate(TYPES):
            ActionType.objects.create(name_fr=fr, name_en=en, name_nl=nl, colour=colour, icon=icon,
                                      default_duration=minutes, billable_by_default=billable,
                                      is_calendar_item=calendar, position=position)
    if not Stage.objects.exists():
        for position, (name, probability) in enumerate(STAGES):
            Stage.objects.create(name=name, position=position, default_probability=probability)


class Migration(migrations.Migration):
    dependencies = [("activities", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
