"""Reliability tests run the production shape: PostgreSQL (a fresh database cloned from the
migrated template) and a real SeaweedFS, with real ``letterbox`` processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, unique_name


@pytest.fixture
def pg_database(pg: PostgresServer, pg_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database for this test alone."""
    name = unique_name("letterbox_rel")
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    try:
        yield pg.url(name)
    finally:
        pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
