from django.db import migrations, models


def mark_high_risk(apps, schema_editor):
    """Sets high_risk on the assessments saved before it existed, by the rule save_form now
    applies (stalkingpakke.services.is_high_risk), written out here as migrations must not
    follow later changes of the code: a risk indicator marked high_risk in the version the
    form was filled against, answered yes."""
    FilledForm = apps.get_model("stalkingpakke", "FilledForm")
    high = []
    forms = FilledForm.objects.filter(tool_version__kind="assessment").select_related(
        "tool_version"
    )
    for form in forms.iterator(chunk_size=500):
        indicators = form.tool_version.content.get("risk_indicators", [])
        if any(
            r.get("high_risk") and form.answers.get(f"risk:{r['key']}") == "yes"
            for r in indicators
        ):
            high.append(form.pk)
    FilledForm.objects.filter(pk__in=high).update(high_risk=True)


class Migration(migrations.Migration):
    dependencies = [
        ("stalkingpakke", "0006_subject_access_copy_as_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="filledform",
            name="high_risk",
            field=models.BooleanField(default=False, editable=False, verbose_name="høj risiko"),
        ),
        migrations.RunPython(mark_high_risk, migrations.RunPython.noop),
    ]
