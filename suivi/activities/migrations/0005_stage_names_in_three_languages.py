"""Pipeline stages are named in French, English and Dutch, as action types are."""

from django.db import migrations, models

DEFAULTS = {
    "Qualification": ("Qualification", "Kwalificatie"),
    "Proposition": ("Proposal", "Voorstel"),
    "Négociation": ("Negotiation", "Onderhandeling"),
    "Closing": ("Closing", "Afsluiting"),
}


def name_the_default_stages(apps, schema_editor):
    Stage = apps.get_model("activities", "Stage")
    for stage in Stage.objects.all():
        en, nl = DEFAULTS.get(stage.name_fr, (stage.name_fr, stage.name_fr))
        stage.name_en, stage.name_nl = en, nl
        stage.save(update_fields=["name_en", "name_nl"])


class Migration(migrations.Migration):
    dependencies = [("activities", "0004_configuration_versions")]
    operations = [
        migrations.RenameField("stage", "name", "name_fr"),
        migrations.AlterField(
            "stage", "name_fr", models.CharField(max_length=60, verbose_name="name (French)")
        ),
        migrations.AddField(
            "stage", "name_en", models.CharField(blank=True, max_length=60, verbose_name="name (English)")
        ),
        migrations.AddField(
            "stage", "name_nl", models.CharField(blank=True, max_length=60, verbose_name="name (Dutch)")
        ),
        migrations.RunPython(name_the_default_stages, migrations.RunPython.noop),
    ]
