"""FLV script data (FLV spec v10.1 E.4.4): ``onMetaData`` and other AMF0 data messages.

RTMP publishers send ``@setDataFrame``, ``onMetaData``, {...}; the server stores the
``onMetaData`` object and forwards it to players without the ``@setDataFrame`` wrapper.
"""

from __future__ import annotations

from typing import Any

from headwater.media.flv import amf0

SET_DATA_FRAME = "@setDataFrame"
ON_METADATA = "onMetaData"


def parse_script(body: bytes, amf3: amf0.Amf3Decoder | None = None) -> tuple[str, list[Any]]:
    """Decode a script tag or data message into (handler name, arguments).

    A leading ``@setDataFrame`` is dropped, so ``@setDataFrame onMetaData {...}`` reads as
    (``"onMetaData"``, [{...}]). Raises :class:`~headwater.media.flv.amf0.AMFError`.
    """
    values = amf0.decode(body, amf3)
    if values and values[0] == SET_DATA_FRAME:
        values = values[1:]
    if not values or not isinstance(values[0], str):
        raise amf0.AMFError("script data does not start with a handler name")
    return values[0], values[1:]


def metadata_of(body: bytes, amf3: amf0.Amf3Decoder | None = None) -> dict[str, Any] | None:
    """The ``onMetaData`` object of a script body, or None when it is some other message."""
    name, args = parse_script(body, amf3)
    if name != ON_METADATA or not args or not isinstance(args[0], dict):
        return None
    return dict(args[0])


def encode_metadata(metadata: dict[str, Any]) -> bytes:
    """An ``onMetaData`` script body (an ECMA array, as Flash Media Server and ffmpeg write)."""
    return amf0.encode(ON_METADATA, amf0.EcmaArray(metadata))
