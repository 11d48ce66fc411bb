"""The marker plugin authors decorate their hook implementations with."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("headwater")
"""Decorate a function in a plugin module to implement the hook of the same name."""
