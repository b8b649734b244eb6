"""Product search (`sku`/`name` icontains) is a substring match: on PostgreSQL a trigram GIN index on
the upper-cased columns serves it, instead of a scan of every product. pg_trgm is a trusted
extension, so the database owner may create it. SQLite has neither, and scans."""

from django.db import migrations

INDEXES = {
    "product_sku_trgm": "sku",
    "product_name_trgm": "name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        expression = f"UPPER({column}::text) gin_trgm_ops"
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON syncing_product USING gin ({expression})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("syncing", "0004_outbound_webhooks_sync_flow_backfill_range")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
