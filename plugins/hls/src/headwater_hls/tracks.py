"""Flussonic's track-selecting HLS URLs: ``/{name}/tracks-v1a1/mono.m3u8`` and friends.

The path component ``tracks-SEL`` names the tracks a player wants: ``v1`` is the stream's
first video track, ``a1`` its first audio track, ``a2`` the second audio track;
``tracks-v1a1`` is the first video with the first audio, ``tracks-a1`` audio only,
``tracks-v1`` video only (Flussonic's ``t1``, a subtitle track, parses, but headwater
carries none). Tracks are numbered from 1 within their
kind, in the order the publisher declared them (their track id). The playlists and segments
under that path carry the selected tracks only.

:class:`TrackSelection` parses and resolves a selection (sans-I/O);
:class:`SelectedWindow` wraps a segment window so that it is fed the selected tracks'
frames only, whatever the publisher sends, and republications with different tracks are
resolved again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.media.frames import Frame, MediaKind, Track

_KINDS = {"v": MediaKind.VIDEO, "a": MediaKind.AUDIO}
"""The kinds a stream's tracks are numbered in (headwater carries no subtitle tracks, so a
``t`` pick parses but is never present)."""
_SELECTION = re.compile(r"(?:[vat][1-9][0-9]{0,2})+")
_PICK = re.compile(r"([vat])([0-9]+)")


class SelectionError(ValueError):
    """A ``tracks-…`` path that names no tracks this server can serve (answered 404)."""


@dataclass(frozen=True, slots=True)
class TrackSelection:
    """The tracks named by one ``tracks-SEL`` path component, e.g. ``v1a1``.

    :param picks: (kind letter, number from 1) in the order written, without repeats.
    """

    picks: tuple[tuple[str, int], ...]

    @classmethod
    def parse(cls, text: str) -> TrackSelection:
        """Parse ``v1a1`` (the part after ``tracks-``); raise :class:`SelectionError`."""
        if not _SELECTION.fullmatch(text):
            raise SelectionError(
                f"bad track selection {text!r}: expected letters v (video), a (audio) or "
                "t (text), each with a track number from 1, as in tracks-v1a1"
            )
        picks: list[tuple[str, int]] = []
        for letter, number in _PICK.findall(text):
            pick = (letter, int(number))
            if pick not in picks:
                picks.append(pick)
        return cls(tuple(picks))

    @property
    def key(self) -> str:
        """The canonical text of the selection (``v1a1``)."""
        return "".join(f"{letter}{number}" for letter, number in self.picks)

    def resolve(self, tracks: Iterable[Track]) -> list[Track]:
        """The selected tracks present among ``tracks`` (a missing pick is left out)."""
        numbered = number_tracks(tracks)
        return [numbered[pick] for pick in self.picks if pick in numbered]

    def check(self, tracks: Sequence[Track]) -> None:
        """Raise :class:`SelectionError` naming each picked track the stream lacks."""
        numbered = number_tracks(tracks)
        missing = [f"{letter}{n}" for letter, n in self.picks if (letter, n) not in numbered]
        if missing:
            names = sorted(numbered, key=lambda pick: (list(_KINDS).index(pick[0]), pick[1]))
            have = ", ".join(f"{letter}{n}" for letter, n in names) or "none"
            raise SelectionError(
                f"no track {', '.join(missing)} in this stream (its tracks: {have})"
            )


def number_tracks(tracks: Iterable[Track]) -> dict[tuple[str, int], Track]:
    """Each track under its ``(letter, number)`` name: ``("v", 1)`` is the first video."""
    numbered: dict[tuple[str, int], Track] = {}
    counts = dict.fromkeys(_KINDS, 0)
    for track in sorted(tracks, key=lambda t: t.id):
        for letter, kind in _KINDS.items():
            if track.kind is kind:
                counts[letter] += 1
                numbered[(letter, counts[letter])] = track
    return numbered


class SelectedWindow:
    """A segment window fed only the frames of the tracks a :class:`TrackSelection` picks.

    Everything but the three publication calls is passed through to the wrapped window,
    so the live HLS and the routes use it exactly like the window itself.
    """

    def __init__(self, window: Any, selection: TrackSelection) -> None:
        self.window = window
        self.selection = selection
        self._known: dict[int, Track] = {}
        self._chosen: set[int] = set()

    def _choose(self) -> list[Track]:
        chosen = self.selection.resolve(self._known.values())
        self._chosen = {t.id for t in chosen}
        return chosen

    def start_publication(self, tracks: Sequence[Track], now: float, latest_dts: int) -> None:
        """A publication begins: resolve the selection against its tracks."""
        self._known = {t.id: t for t in tracks}
        self.window.start_publication(self._choose(), now, latest_dts)

    def feed(self, frame: Frame) -> Any:
        """Pass on a frame of a selected track; drop the others."""
        tid = frame.track.id
        if tid not in self._known:  # a track the publisher added later: number it now
            self._known[tid] = frame.track
            self._choose()
        if tid not in self._chosen:
            return None
        return self.window.feed(frame)

    def feed_many(self, frames: Sequence[Frame]) -> bool:
        """Pass on the frames of selected tracks at once; True when the window has news."""
        chosen = []
        for frame in frames:
            tid = frame.track.id
            if tid not in self._known:
                self._known[tid] = frame.track
                self._choose()
            if tid in self._chosen:
                chosen.append(frame)
        return bool(chosen) and bool(self.window.feed_many(chosen))

    def end_publication(self) -> Any:
        """The publication ended (see the wrapped window)."""
        return self.window.end_publication()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.window, name)
