"""Alembic environment: khgeo passes the connection in (see khgeo/migrate.py); there is no alembic.ini."""

from alembic import context
from geoalchemy2 import alembic_helpers

from khgeo.models import Base

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    compare_type=True,
    transaction_per_migration=False,
)

with context.begin_transaction():
    context.run_migrations()
