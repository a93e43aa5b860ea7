"""The JSON API under ``/api/v1``: the centre operations of the admin pages, calling the
same domain functions, described by the OpenAPI document at ``/api/v1/openapi.json``."""

from __future__ import annotations

from service.api.routes import setup

__all__ = ["setup"]
