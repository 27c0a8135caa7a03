"""On PostgreSQL the audit trail refuses UPDATE and DELETE in the database itself, so raw SQL,
bulk paths and the ORM's update() cannot rewrite history either. (SQLite has no such trigger;
the model and queryset refuse there.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION samvirke_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'cases_auditentry is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cases_auditentry_append_only ON cases_auditentry;
CREATE TRIGGER cases_auditentry_append_only
    BEFORE UPDATE OR DELETE ON cases_auditentry
    FOR EACH ROW EXECUTE FUNCTION samvirke_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS cases_auditentry_append_only ON cases_auditentry;
DROP FUNCTION IF EXISTS samvirke_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
