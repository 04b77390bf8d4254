"""Alembic environment: runs on the engine the caller passes in."""

from alembic import context

from store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # only for `alembic revision --autogenerate` run by hand
    from sqlalchemy import create_engine

    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("alembic: set sqlalchemy.url in alembic.ini, or pass an engine")
    engine = create_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
