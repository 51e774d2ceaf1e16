"""Plain-word action search reads keywords: the words of each action's subject, written here for
the actions already recorded (before the indexes, so a million actions take a minute)."""

import django.db.models.deletion
from django.db import migrations, models

from suivi.lib.text import words

CHUNK = 20_000


def write_keywords(apps, schema_editor):
    Action = apps.get_model("activities", "Action")
    ActionKeyword = apps.get_model("activities", "ActionKeyword")
    words_of: dict[str, list[str]] = {}  # subjects repeat: fold each once
    last = 0
    while True:
        chunk = list(Action.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "subject")[:CHUNK])
        if not chunk:
            return
        rows = []
        for pk, subject in chunk:
            found = words_of.get(subject)
            if found is None:
                found = words(subject)
                if len(words_of) < 100_000:
                    words_of[subject] = found
            rows += [ActionKeyword(action_id=pk, word=w) for w in found]
        ActionKeyword.objects.bulk_create(rows, batch_size=5000)
        last = chunk[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0006_action_list_sorts"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActionKeyword",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("word", models.CharField(max_length=60)),
                (
                    "action",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="keywords",
                        to="activities.action",
                    ),
                ),
            ],
        ),
        migrations.RunPython(write_keywords, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="actionkeyword",
            index=models.Index(
                fields=["word", "action"], name="action_keyword_word", opclasses=["varchar_pattern_ops", "int8_ops"]
            ),
        ),
        migrations.AddConstraint(
            model_name="actionkeyword",
            constraint=models.UniqueConstraint(fields=("action", "word"), name="action_keyword_once"),
        ),
    ]
