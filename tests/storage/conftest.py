"""Storage tests use the real SeaweedFS fixtures registered by the root conftest."""
