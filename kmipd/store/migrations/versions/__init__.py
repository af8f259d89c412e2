"""Alembic revision scripts for the kmipd store."""
