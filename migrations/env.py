"""Alembic environment: migrations run on the platform's own engine (Flask-Migrate provides the app)."""

import logging

from alembic import context
from flask import current_app

from marketplace.core.db import UTCDateTime

log = logging.getLogger("alembic.env")
migrate = current_app.extensions["migrate"]
metadata = migrate.db.metadata


def render_item(type_, obj, autogen_context):
    # Migrations spell our UTC timestamp type as the plain column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def skip_empty_autogenerate(context_, revision, directives):
    if getattr(context.config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("no schema changes detected")


options = {"render_item": render_item, "process_revision_directives": skip_empty_autogenerate,
           **migrate.configure_args}

if context.is_offline_mode():
    context.configure(url=migrate.db.engine.url.render_as_string(hide_password=False), target_metadata=metadata,
                      literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    with migrate.db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying and dropping it; with foreign keys on, the drop would
            # cascade into (or be refused by) the rows that point at it. Off for the migration, checked after.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=metadata, **options)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows with dangling foreign keys: {broken[:10]}")
            if connection.in_transaction():
                connection.commit()
        finally:
            if connection.in_transaction():
                connection.rollback()
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
