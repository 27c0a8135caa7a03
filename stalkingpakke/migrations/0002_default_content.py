from django.db import migrations


def load(apps, schema_editor):
    from stalkingpakke.content import DEFAULT_FILE, load_defaults

    if DEFAULT_FILE.exists():
        ToolVersion = apps.get_model("stalkingpakke", "ToolVersion")
        load_defaults(
            ToolVersion,
            [
                "checklist", "advice", "assessment", "action_plan", "incident_log",
                "typology", "conversation", "referral_list",
            ],
        )


class Migration(migrations.Migration):
    dependencies = [("stalkingpakke", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
