"""headwater-hello: an example third-party plugin for headwater (see docs/plugins.md)."""
