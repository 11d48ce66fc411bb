"""AMF0 (Adobe "Action Message Format -- AMF 0", 2007), the value encoding of FLV script tags
and RTMP command messages.

Python values map to AMF0 markers (spec section 2):

=====================  ======================================================
Python                 AMF0
=====================  ======================================================
``float``/``int``      number (2.2); decoding always gives ``float``
``bool``               boolean (2.3)
``str``                string (2.4) or long string (2.14) past 65535 bytes
``dict``               anonymous object (2.5)
``None``               null (2.7)
:data:`UNDEFINED`      undefined (2.8)
:class:`EcmaArray`     ECMA array (2.10)
``list``               strict array (2.12)
``datetime``           date (2.13), milliseconds since the epoch, UTC
:class:`XMLDocument`   XML document (2.17)
:class:`TypedObject`   typed object (2.18)
=====================  ======================================================

References (2.9) are resolved when decoding and never written. The AVM+ switch marker
(2.19) is handed to an optional AMF3 decoder (RTMP message types 15 and 17 use it).
Malformed input raises :class:`AMFError`, a :class:`~headwater.errors.ProtocolError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.errors import MediaError

MAX_DEPTH = 64
"""Deepest nesting of objects and arrays accepted, so hostile input cannot exhaust the stack."""

NUMBER, BOOLEAN, STRING, OBJECT, MOVIECLIP, NULL, UNDEFINED_MARKER, REFERENCE = range(8)
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING, UNSUPPORTED, RECORDSET = range(8, 15)
XML_DOCUMENT, TYPED_OBJECT, AVMPLUS = 15, 16, 17

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct(">d")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class AMFError(MediaError):
    """AMF bytes that cannot be decoded (truncated, unknown marker, too deep)."""


class _Undefined:
    """The AMF ``undefined`` value (distinct from ``null``/``None``)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED = _Undefined()
"""The single AMF ``undefined`` value."""


class EcmaArray(dict):  # type: ignore[type-arg]
    """A dict that encodes as an AMF0 ECMA array (how ``onMetaData`` is usually sent)."""


class XMLDocument(str):
    """A str that encodes as an AMF0 XML document."""

    __slots__ = ()


@dataclass
class TypedObject:
    """An object with a registered class name (AMF0 typed object, AMF3 sealed object)."""

    class_name: str
    fields: dict[str, Any] = field(default_factory=dict)


Amf3Decoder = Callable[[memoryview, int], tuple[Any, int]]
"""``decoder(buffer, offset) -> (value, new offset)``, called after an AVM+ marker."""


class Decoder:
    """Decodes AMF0 values from one buffer, keeping the reference table of section 2.9."""

    __slots__ = ("_amf3", "_buf", "_refs", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, amf3: Amf3Decoder | None = None):
        self._buf = memoryview(data)
        self._refs: list[Any] = []
        self._amf3 = amf3
        self.pos = 0

    @property
    def at_end(self) -> bool:
        """True when every byte has been consumed."""
        return self.pos >= len(self._buf)

    def _take(self, n: int) -> memoryview:
        end = self.pos + n
        if end > len(self._buf):
            raise AMFError(f"AMF0 value truncated at byte {self.pos}: {n} more bytes needed")
        chunk = self._buf[self.pos : end]
        self.pos = end
        return chunk

    def _utf8(self, size_struct: struct.Struct) -> str:
        (size,) = size_struct.unpack(self._take(size_struct.size))
        return str(self._take(size), "utf-8", "replace")

    def read(self, depth: int = 0) -> Any:
        """Decode the next value."""
        if depth > MAX_DEPTH:
            raise AMFError(f"AMF0 nesting deeper than {MAX_DEPTH}")
        marker = self._take(1)[0]
        if marker == NUMBER:
            return _DOUBLE.unpack(self._take(8))[0]
        if marker == BOOLEAN:
            return self._take(1)[0] != 0
        if marker == STRING:
            return self._utf8(_U16)
        if marker == NULL:
            return None
        if marker in (UNDEFINED_MARKER, UNSUPPORTED):
            return UNDEFINED
        if marker == OBJECT:
            obj: dict[str, Any] = {}
            self._refs.append(obj)
            self._read_properties(obj, depth)
            return obj
        if marker == ECMA_ARRAY:
            self._take(4)  # the count is a hint only; the end marker terminates
            arr = EcmaArray()
            self._refs.append(arr)
            self._read_properties(arr, depth)
            return arr
        if marker == STRICT_ARRAY:
            (count,) = _U32.unpack(self._take(4))
            if count > len(self._buf) - self.pos:
                raise AMFError(f"AMF0 strict array claims {count} items in too few bytes")
            items: list[Any] = []
            self._refs.append(items)
            for _ in range(count):
                items.append(self.read(depth + 1))
            return items
        if marker == TYPED_OBJECT:
            typed = TypedObject(self._utf8(_U16))
            self._refs.append(typed)
            self._read_properties(typed.fields, depth)
            return typed
        if marker == REFERENCE:
            (index,) = _U16.unpack(self._take(2))
            if index >= len(self._refs):
                raise AMFError(f"AMF0 reference {index} to an object not yet seen")
            return self._refs[index]
        if marker == DATE:
            (ms,) = _DOUBLE.unpack(self._take(8))
            self._take(2)  # time zone, reserved: always 0
            try:
                return _EPOCH + timedelta(milliseconds=ms)
            except (OverflowError, ValueError) as exc:
                raise AMFError(f"AMF0 date {ms!r} out of range") from exc
        if marker == LONG_STRING:
            return self._utf8(_U32)
        if marker == XML_DOCUMENT:
            return XMLDocument(self._utf8(_U32))
        if marker == AVMPLUS and self._amf3 is not None:
            value, self.pos = self._amf3(self._buf, self.pos)
            return value
        raise AMFError(f"unsupported AMF0 marker 0x{marker:02x} at byte {self.pos - 1}")

    def _read_properties(self, target: dict[str, Any], depth: int) -> None:
        while True:
            key = self._utf8(_U16)
            if not key and self.pos < len(self._buf) and self._buf[self.pos] == OBJECT_END:
                self.pos += 1
                return
            target[key] = self.read(depth + 1)

    def read_all(self) -> list[Any]:
        """Decode values until the buffer ends."""
        out = []
        while not self.at_end:
            out.append(self.read())
        return out


def decode(data: bytes | bytearray | memoryview, amf3: Amf3Decoder | None = None) -> list[Any]:
    """Decode every AMF0 value in ``data`` (a command or a script tag body)."""
    return Decoder(data, amf3).read_all()


def _encode_str_body(s: str, parts: list[bytes]) -> None:
    raw = s.encode("utf-8")
    parts.append(_U16.pack(len(raw)))
    parts.append(raw)


def _encode_properties(obj: dict[str, Any], parts: list[bytes], depth: int) -> None:
    for key, value in obj.items():
        _encode_str_body(str(key), parts)
        _encode(value, parts, depth + 1)
    parts.append(b"\x00\x00\x09")


def _encode(value: Any, parts: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"AMF0 nesting deeper than {MAX_DEPTH}")
    if value is None:
        parts.append(b"\x05")
    elif value is UNDEFINED:
        parts.append(b"\x06")
    elif isinstance(value, bool):
        parts.append(b"\x01\x01" if value else b"\x01\x00")
    elif isinstance(value, int | float):
        parts.append(b"\x00" + _DOUBLE.pack(float(value)))
    elif isinstance(value, XMLDocument):
        raw = value.encode("utf-8")
        parts.append(b"\x0f" + _U32.pack(len(raw)))
        parts.append(raw)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        if len(raw) > 0xFFFF:
            parts.append(b"\x0c" + _U32.pack(len(raw)))
        else:
            parts.append(b"\x02" + _U16.pack(len(raw)))
        parts.append(raw)
    elif isinstance(value, EcmaArray):
        parts.append(b"\x08" + _U32.pack(len(value)))
        _encode_properties(value, parts, depth)
    elif isinstance(value, dict):
        parts.append(b"\x03")
        _encode_properties(value, parts, depth)
    elif isinstance(value, list | tuple):
        parts.append(b"\x0a" + _U32.pack(len(value)))
        for item in value:
            _encode(item, parts, depth + 1)
    elif isinstance(value, TypedObject):
        parts.append(b"\x10")
        _encode_str_body(value.class_name, parts)
        _encode_properties(value.fields, parts, depth)
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        ms = (value - _EPOCH) / timedelta(milliseconds=1)
        parts.append(b"\x0b" + _DOUBLE.pack(ms) + b"\x00\x00")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as AMF0")


def encode(*values: Any) -> bytes:
    """Encode values one after another (a command: name, transaction id, arguments)."""
    parts: list[bytes] = []
    for value in values:
        _encode(value, parts, 0)
    return b"".join(parts)
