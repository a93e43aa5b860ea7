"""Cross-cutting HTTP concerns, one module each, installed by ``service.app``."""
