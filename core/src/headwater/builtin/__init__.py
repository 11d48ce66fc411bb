"""Plugins built into the core: the path resolver, passwords, on_publish, x-record."""
