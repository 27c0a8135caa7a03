import datetime

from django.db import migrations, models

# A plan saved this long before a PDF was ordered may still have been committing when the
# worker read the plan: such a PDF is not given a version (it may show either).
MARGIN = datetime.timedelta(minutes=1)


def action_plan_versions(apps, schema_editor):
    """The version an action plan PDF made before data_version was kept shows, where the plan's
    revisions say it for certain: no revision was saved from just before the PDF was ordered
    until it was finished, so it shows the last one saved before. Any other is left None,
    and with_outdated keeps calling it changed when the plan was saved after it was ordered.
    (Written out here: migrations must not follow later changes of the code.)"""
    Document = apps.get_model("stalkingpakke", "Document")
    ActionPlanRevision = apps.get_model("stalkingpakke", "ActionPlanRevision")
    documents = Document.objects.filter(
        kind="action_plan", status="ready", data_version__isnull=True, finished_at__isnull=False
    )
    for document in documents.iterator(chunk_size=500):
        revisions = ActionPlanRevision.objects.filter(plan__case_id=document.case_id)
        if revisions.filter(
            created_at__gt=document.requested_at - MARGIN, created_at__lte=document.finished_at
        ).exists():
            continue
        last = (
            revisions.filter(created_at__lte=document.requested_at - MARGIN)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        if last is not None:
            Document.objects.filter(pk=document.pk).update(data_version=last)


class Migration(migrations.Migration):
    dependencies = [
        ("stalkingpakke", "0007_filledform_high_risk"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="data_version",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(action_plan_versions, migrations.RunPython.noop),
    ]
