from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def references_as_the_cases_hold_them(apps, schema_editor):
    """Referrals made before the reference was kept with them: their case's reference now
    (for one already joined into another case, that case's: where it came from is not kept)."""
    Case = apps.get_model("cases", "Case")
    Referral = apps.get_model("cases", "Referral")
    Referral.objects.update(
        case_reference=Subquery(
            Case.objects.filter(pk=OuterRef("case_id")).values("reference")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_referral_notices_before_this_were_seen"),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="case_reference",
            field=models.CharField(
                blank=True, max_length=20, verbose_name="sagsnummer ved henvisningen"
            ),
        ),
        migrations.RunPython(references_as_the_cases_hold_them, migrations.RunPython.noop),
    ]
