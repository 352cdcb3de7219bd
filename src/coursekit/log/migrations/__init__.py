"""Alembic migrations of the discussion log, run by ``coursekit.log.schema`` (no alembic.ini).

``versions/`` holds one revision per schema change; docs/migrations.md says how to add one.
"""
