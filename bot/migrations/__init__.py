"""Alembic migrations of the helpdesk schema (``env.py`` and ``versions/``), run by :mod:`bot.db.engine`."""
