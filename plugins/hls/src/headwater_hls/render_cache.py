"""Rendered playlists kept as bytes until what they are made of changes.

Every player of a stream polls the same playlists; both windows (MPEG-TS and low-latency)
render each one once per change of their held segments or parts and hand the same bytes
to every request until the next change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

_NEVER = object()


class RenderCache:
    """Bytes of rendered playlists, valid while the window's ``state`` stays equal."""

    __slots__ = ("_bodies", "_state")

    def __init__(self) -> None:
        self._state: object = _NEVER
        self._bodies: dict[Hashable, bytes] = {}

    def get(self, state: object, key: Hashable, render: Callable[[], str]) -> bytes:
        """``render()`` encoded, made once per ``key`` while ``state`` is unchanged (a
        different ``state`` forgets everything rendered before)."""
        if state != self._state:
            self._bodies = {}
            self._state = state
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = render().encode()
        return body
