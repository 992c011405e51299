"""Migrations are the only way the schema changes: one head, upgrade from empty, and no drift from the models."""

import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from marketplace.extensions import db
from tests.fixtures.app import configured_database_url, make_test_app

#: A tenant as an old schema stores it, for migrations that carry data.
TENANT_ROW = text("INSERT INTO tenants (id, slug, kind, status, name_zh, name_en, district_zh, district_en, address_zh, "
                  "address_en, theme, timezone, currency, brand, layout, created_at, updated_at) VALUES (1, 'dehua', "
                  "'street', 'live', '德化', 'Dehua', '', '', '', '', 'base', 'Asia/Shanghai', 'CNY', '{}', '{}', "
                  "'2026-01-01', '2026-01-01')")
EXPECTED_TABLES = {"tenants", "tenant_domains", "tenant_settings", "users", "role_grants", "login_attempts",
                   "merchants", "shops", "categories"}


def _script(app) -> ScriptDirectory:
    with app.app_context():
        return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_there_is_exactly_one_head(app):
    assert len(_script(app).get_heads()) == 1


def test_every_migration_file_is_dated(app):
    for revision in _script(app).walk_revisions():
        name = revision.path.rsplit("/", 1)[-1]
        assert name[:8].isdigit(), f"{name} should start with its date (YYYYMMDD_)"


def _upgrade_and_check(app):
    with app.app_context():
        flask_migrate.upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert tables >= EXPECTED_TABLES
        with db.engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                     db.metadata)
        assert drift == [], f"models and migrations differ: {drift}"
        flask_migrate.downgrade(revision="base")
        assert not EXPECTED_TABLES & set(inspect(db.engine).get_table_names())
        flask_migrate.upgrade()


@pytest.mark.no_transaction
def test_upgrade_from_empty_on_sqlite_matches_the_models(tmp_path):
    _upgrade_and_check(make_test_app(tmp_path))


@pytest.mark.postgres
@pytest.mark.no_transaction
def test_upgrade_from_empty_on_postgresql_matches_the_models(tmp_path):
    url = make_url(configured_database_url())
    name = f"migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        app = make_test_app(tmp_path, url.set(database=name).render_as_string(hide_password=False))
        _upgrade_and_check(app)
        with app.app_context():
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.no_transaction
def test_a_batch_table_rebuild_on_sqlite_keeps_the_rows_that_point_at_it(tmp_path):
    """SQLite rebuilds a table to alter it; with foreign keys on, dropping the old copy would cascade."""
    import shutil
    from pathlib import Path

    migrations = tmp_path / "migrations"
    shutil.copytree(Path(__file__).resolve().parents[1] / "migrations", migrations)
    head = ScriptDirectory(str(migrations)).get_current_head()
    (migrations / "versions" / "20990101_rebuild_tenants.py").write_text(f'''
from alembic import op
import sqlalchemy as sa

revision = "rebuild_tenants"
down_revision = "{head}"


def upgrade():
    with op.batch_alter_table("tenants", recreate="always") as batch_op:
        batch_op.add_column(sa.Column("motto", sa.String(50), nullable=True))


def downgrade():
    with op.batch_alter_table("tenants", recreate="always") as batch_op:
        batch_op.drop_column("motto")
''')
    app = make_test_app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(directory=str(migrations), revision=head)
        with db.engine.begin() as connection:
            connection.execute(TENANT_ROW)
            connection.execute(text("INSERT INTO tenant_domains (tenant_id, domain) VALUES (1, 'dehua.example.cn')"))
        flask_migrate.upgrade(directory=str(migrations))
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM tenant_domains")).scalar() == 1
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on for the app
        db.engine.dispose()


@pytest.mark.no_transaction
def test_webhook_secrets_saved_in_clear_are_sealed_by_the_upgrade_and_opened_by_the_downgrade(tmp_path):
    from marketplace.tenancy.context import all_tenants
    from marketplace.webhooks.models import WebhookEndpoint

    app = make_test_app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision="a1f6c8d4e332")  # the secret still in clear
        with db.engine.begin() as connection:
            connection.execute(TENANT_ROW)
            connection.execute(text("INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, description, "
                                    "created_at) VALUES (1, 1, 'https://erp.example.cn/hook', '[]', 'whsec_old-one', "
                                    "'', '2026-11-30')"))
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            sealed = connection.execute(text("SELECT secret_sealed FROM webhook_endpoints")).scalar()
        assert "whsec_old-one" not in sealed
        with all_tenants():
            assert db.session.get(WebhookEndpoint, 1).secret == "whsec_old-one"
        db.session.remove()
        flask_migrate.downgrade(revision="a1f6c8d4e332")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT secret FROM webhook_endpoints")).scalar() == "whsec_old-one"
        db.engine.dispose()
