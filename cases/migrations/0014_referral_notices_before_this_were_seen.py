from django.db import migrations, models

# The kinds whose recipient is mailed from this release on (cases.alerts.NOTICE_KINDS), as
# literals: a migration must not change when the code does.
NOTICE_KINDS = ("to_coordinator", "to_police", "to_dsc")


def referral_notices_before_this_were_seen(apps, schema_editor):
    """The notice is for referrals made from now on. Those still waiting from before were
    never mailed (alerted_at is empty) and would all be mailed by the first relay after the
    deploy, days or months late; their recipients see them in "waiting for you" already.

    A migration rather than a relay that only looks at referrals newer than a bound: the
    outbox stays one rule (empty alerted_at = a mail is due), the partial index
    referral_alert_outbox no longer holds the old rows, and no date has to be kept in the
    code or the settings. A referral made by the old code between this migration and the
    new code's start is mailed, and rightly: its recipient has not been told either."""
    Referral = apps.get_model("cases", "Referral")
    Referral.objects.filter(
        kind__in=NOTICE_KINDS, status="sent", alerted_at__isnull=True
    ).update(alerted_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_referral_person_name"),
    ]

    operations = [
        migrations.RunPython(referral_notices_before_this_were_seen, migrations.RunPython.noop),
    ]
