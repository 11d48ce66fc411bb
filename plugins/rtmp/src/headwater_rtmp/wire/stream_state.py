"""The life of one RTMP message stream on the server side, as one transition table (the
shape of h11's ``_state.py``).

The client moves a stream with its commands (``publish``, ``play``, ``closeStream``...);
the server moves it with its decisions (``accept_publish``, ``reject_play``...). A
transition the table does not hold is refused: from the client it is ignored or answered
by the session, from our own code it is a :class:`~headwater.LocalProtocolError` (a bug).
"""

from __future__ import annotations

from enum import Enum

from headwater import LocalProtocolError


class StreamState(Enum):
    """Where a message stream is in its publish or play exchange."""

    IDLE = "idle"
    """Created (``createStream``) or closed; ready for ``publish`` or ``play``."""
    PENDING_PUBLISH = "pending publish"
    """``publish`` received; the server has not decided yet."""
    PUBLISHING = "publishing"
    """``NetStream.Publish.Start`` sent; media is accepted."""
    PENDING_PLAY = "pending play"
    """``play`` received; the server has not decided yet."""
    PLAYING = "playing"
    """``NetStream.Play.Start`` sent; media goes to the client."""


IDLE = StreamState.IDLE
PENDING_PUBLISH = StreamState.PENDING_PUBLISH
PUBLISHING = StreamState.PUBLISHING
PENDING_PLAY = StreamState.PENDING_PLAY
PLAYING = StreamState.PLAYING

TRANSITIONS: dict[tuple[StreamState, str], StreamState] = {
    # the client's commands
    (IDLE, "publish"): PENDING_PUBLISH,
    (IDLE, "play"): PENDING_PLAY,
    **{(state, "close"): IDLE for state in StreamState},
    # the server's decisions
    (PENDING_PUBLISH, "accept_publish"): PUBLISHING,
    (PENDING_PUBLISH, "reject_publish"): IDLE,
    (PENDING_PLAY, "accept_play"): PLAYING,
    (PENDING_PLAY, "reject_play"): IDLE,
    (PLAYING, "end_play"): IDLE,
}
"""(state, what happened) → the next state; everything else is not allowed."""


def next_state(state: StreamState | None, event: str, stream_id: int) -> StreamState:
    """The state after ``event``; raises :class:`LocalProtocolError` when not allowed."""
    if state is None:
        raise LocalProtocolError(f"RTMP: {event} on message stream {stream_id}, never created")
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise LocalProtocolError(
            f"RTMP: {event} is not allowed on message stream {stream_id} in state {state.value}"
        ) from None
