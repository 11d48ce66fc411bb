"""Events (Flussonic's ``event_sinks``): what happened to streams, sources, pushes and the
config backend, delivered in order to HTTP handlers and JSON-lines files.

``emit(server, "stream_opened", media=name)`` never blocks and never raises: each sink has
a bounded queue of its own and a task that delivers from it.
"""

from headwater.events.bus import EventBus, emit
from headwater.events.filters import event_matches

__all__ = ["EventBus", "emit", "event_matches"]
