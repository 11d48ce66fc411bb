"""Small facts about a client connection that every protocol listener needs the same way.

``peer_address`` turns what an asyncio transport reports as its peer or socket name into a
``(host, port)`` pair; ``first_error`` finds the error to name in a connection's one log
line when its task group ends with an exception group.
"""

from __future__ import annotations

from typing import Any


def peer_address(addr: Any) -> tuple[str, int]:
    """``(host, port)`` of a transport's ``peername``/``sockname``; ``("", 0)`` when unknown
    (a Unix socket, or a transport that was already closed)."""
    try:
        return str(addr[0]), int(addr[1])
    except (IndexError, TypeError, ValueError):
        return ("", 0)


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The first real error in a task group's exception group (one log line names it)."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return first_error(exc)
        return exc
    return group
