"""AMF3 (Adobe "Action Message Format -- AMF 3", 2013), as RTMP clients send it in message types
15/17 after the AMF0 AVM+ switch marker.

Decoding keeps the string, object and traits reference tables of section 2.2 (a fresh
context per AVM+ switch). Python mapping: undefined → :data:`~headwater.media.flv.amf0.UNDEFINED`,
integer/double → ``int``/``float``, string → ``str``, XML → ``XMLDocument``, date →
``datetime``, dense array → ``list``, array with associative part → ``EcmaArray``,
anonymous object → ``dict``, typed object → ``TypedObject``, ByteArray → ``bytes``,
vectors → ``list``, dictionary → ``dict``. Externalizable objects cannot be decoded
without their class and raise :class:`~headwater.media.flv.amf0.AMFError`.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater import shown
from headwater.media.flv.amf0 import (
    MAX_DEPTH,
    UNDEFINED,
    AMFError,
    EcmaArray,
    TypedObject,
    XMLDocument,
)

UNDEFINED_M, NULL, FALSE, TRUE, INTEGER, DOUBLE, STRING, XML_DOC, DATE = range(9)
ARRAY, OBJECT, XML, BYTE_ARRAY, VEC_INT, VEC_UINT, VEC_DOUBLE, VEC_OBJECT, DICTIONARY = range(9, 18)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct(">d")
_MIN_INT, _MAX_INT = -(1 << 28), (1 << 28) - 1


class _Traits:
    __slots__ = ("class_name", "dynamic", "externalizable", "members")

    def __init__(self, class_name: str, members: list[str], dynamic: bool, ext: bool) -> None:
        self.class_name = class_name
        self.members = members
        self.dynamic = dynamic
        self.externalizable = ext


class Decoder:
    """Decodes AMF3 values from a buffer starting at ``pos``, with its own reference tables."""

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self._buf = memoryview(data)
        self.pos = pos
        self._strings: list[str] = []
        self._objects: list[Any] = []
        self._traits: list[_Traits] = []

    def _take(self, n: int) -> memoryview:
        end = self.pos + n
        if n < 0 or end > len(self._buf):
            raise AMFError(f"AMF3 value truncated at byte {self.pos}")
        chunk = self._buf[self.pos : end]
        self.pos = end
        return chunk

    def _u29(self) -> int:
        value = 0
        for i in range(4):
            b = self._take(1)[0]
            if i == 3:
                return (value << 8) | b
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        return value  # unreachable

    def _ref(self, table: list[Any], index: int, what: str) -> Any:
        if index >= len(table):
            raise AMFError(f"AMF3 {what} reference {index} to an entry not yet seen")
        return table[index]

    def _string(self) -> str:
        header = self._u29()
        if not header & 1:
            return self._ref(self._strings, header >> 1, "string")  # type: ignore[no-any-return]
        s = str(self._take(header >> 1), "utf-8", "replace")
        if s:
            self._strings.append(s)
        return s

    def read(self, depth: int = 0) -> Any:
        """Decode the next value."""
        if depth > MAX_DEPTH:
            raise AMFError(f"AMF3 nesting deeper than {MAX_DEPTH}")
        marker = self._take(1)[0]
        if marker == UNDEFINED_M:
            return UNDEFINED
        if marker == NULL:
            return None
        if marker in (FALSE, TRUE):
            return marker == TRUE
        if marker == INTEGER:
            v = self._u29()
            return v - (1 << 29) if v & (1 << 28) else v
        if marker == DOUBLE:
            return _DOUBLE.unpack(self._take(8))[0]
        if marker == STRING:
            return self._string()
        if marker > DICTIONARY:
            raise AMFError(f"unknown AMF3 marker 0x{marker:02x} at byte {self.pos - 1}")
        header = self._u29()
        if not header & 1:
            return self._ref(self._objects, header >> 1, "object")
        size = header >> 1
        if marker in (XML_DOC, XML):
            value: Any = XMLDocument(str(self._take(size), "utf-8", "replace"))
            self._objects.append(value)
            return value
        if marker == DATE:
            (ms,) = _DOUBLE.unpack(self._take(8))
            try:
                value = _EPOCH + timedelta(milliseconds=ms)
            except (OverflowError, ValueError) as exc:
                raise AMFError(f"AMF3 date {ms!r} out of range") from exc
            self._objects.append(value)
            return value
        if marker == BYTE_ARRAY:
            value = bytes(self._take(size))
            self._objects.append(value)
            return value
        if marker == ARRAY:
            return self._array(size, depth)
        if marker == OBJECT:
            return self._object(header, depth)
        if size > len(self._buf) - self.pos:
            raise AMFError(f"AMF3 collection claims {size} items in too few bytes")
        self._take(1)  # fixed-length flag (vectors) or weak-keys flag (dictionary)
        if marker in (VEC_INT, VEC_UINT, VEC_DOUBLE):
            fmt = {VEC_INT: "i", VEC_UINT: "I", VEC_DOUBLE: "d"}[marker]
            width = 8 if marker == VEC_DOUBLE else 4
            value = list(struct.unpack(f">{size}{fmt}", self._take(size * width)))
            self._objects.append(value)
            return value
        if marker == VEC_OBJECT:
            self._string()  # the element type name
            items: list[Any] = []
            self._objects.append(items)
            for _ in range(size):
                items.append(self.read(depth + 1))
            return items
        mapping: dict[Any, Any] = {}
        self._objects.append(mapping)
        for _ in range(size):
            key = self.read(depth + 1)
            try:
                mapping[key] = self.read(depth + 1)
            except TypeError as exc:
                raise AMFError("AMF3 dictionary key is not hashable") from exc
        return mapping

    def _array(self, dense: int, depth: int) -> Any:
        if dense > len(self._buf) - self.pos:
            raise AMFError(f"AMF3 array claims {dense} items in too few bytes")
        assoc = EcmaArray()
        placeholder: list[Any] = []
        index = len(self._objects)
        self._objects.append(placeholder)
        while key := self._string():
            assoc[key] = self.read(depth + 1)
        for _ in range(dense):
            placeholder.append(self.read(depth + 1))
        if not assoc:
            return placeholder
        for i, item in enumerate(placeholder):
            assoc[str(i)] = item
        self._objects[index] = assoc
        return assoc

    def _object(self, header: int, depth: int) -> Any:
        if not header & 2:
            traits = self._ref(self._traits, header >> 2, "traits")
        else:
            ext, dynamic, count = bool(header & 4), bool(header & 8), header >> 4
            if count > len(self._buf) - self.pos:
                raise AMFError(f"AMF3 traits claim {count} members in too few bytes")
            name = self._string()
            traits = _Traits(name, [self._string() for _ in range(count)], dynamic, ext)
            self._traits.append(traits)
        if traits.externalizable:
            raise AMFError(
                f"AMF3 externalizable object {shown(traits.class_name)} cannot be decoded"
            )
        fields: dict[str, Any] = {}
        result: Any = TypedObject(traits.class_name, fields) if traits.class_name else fields
        self._objects.append(result)
        for member in traits.members:
            fields[member] = self.read(depth + 1)
        if traits.dynamic:
            while key := self._string():
                fields[key] = self.read(depth + 1)
        return result


def decode_at(data: bytes | bytearray | memoryview, pos: int) -> tuple[Any, int]:
    """Decode one AMF3 value at ``pos``; returns (value, position after it).

    This is the hook :class:`headwater.media.flv.amf0.Decoder` calls after an AVM+ marker.
    """
    decoder = Decoder(data, pos)
    value = decoder.read()
    return value, decoder.pos


def decode(data: bytes | bytearray | memoryview) -> list[Any]:
    """Decode every AMF3 value in ``data`` (sharing one reference context)."""
    decoder = Decoder(data)
    out = []
    while decoder.pos < len(data):
        out.append(decoder.read())
    return out


def _u29(value: int) -> bytes:
    value &= 0x1FFFFFFF
    if value < 0x80:
        return bytes((value,))
    if value < 0x4000:
        return bytes((value >> 7 | 0x80, value & 0x7F))
    if value < 0x200000:
        return bytes((value >> 14 | 0x80, (value >> 7) & 0x7F | 0x80, value & 0x7F))
    return bytes(
        (value >> 22 | 0x80, (value >> 15) & 0x7F | 0x80, (value >> 8) & 0x7F | 0x80, value & 0xFF)
    )


def _str(s: str, parts: list[bytes]) -> None:
    raw = s.encode("utf-8")
    parts.append(_u29(len(raw) << 1 | 1))
    parts.append(raw)


def _encode(value: Any, parts: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"AMF3 nesting deeper than {MAX_DEPTH}")
    if value is UNDEFINED:
        parts.append(b"\x00")
    elif value is None:
        parts.append(b"\x01")
    elif isinstance(value, bool):
        parts.append(b"\x03" if value else b"\x02")
    elif isinstance(value, int) and _MIN_INT <= value <= _MAX_INT:
        parts.append(b"\x04" + _u29(value))
    elif isinstance(value, int | float):
        parts.append(b"\x05" + _DOUBLE.pack(float(value)))
    elif isinstance(value, XMLDocument):
        parts.append(b"\x07")
        _str(value, parts)
    elif isinstance(value, str):
        parts.append(b"\x06")
        _str(value, parts)
    elif isinstance(value, bytes | bytearray):
        parts.append(b"\x0c" + _u29(len(value) << 1 | 1))
        parts.append(bytes(value))
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        parts.append(b"\x08\x01" + _DOUBLE.pack((value - _EPOCH) / timedelta(milliseconds=1)))
    elif isinstance(value, list | tuple):
        parts.append(b"\x09" + _u29(len(value) << 1 | 1) + b"\x01")
        for item in value:
            _encode(item, parts, depth + 1)
    elif isinstance(value, EcmaArray):
        parts.append(b"\x09\x01")
        for key, item in value.items():
            _str(str(key), parts)
            _encode(item, parts, depth + 1)
        parts.append(b"\x01")
    elif isinstance(value, dict | TypedObject):
        name, fields = (
            (value.class_name, value.fields) if isinstance(value, TypedObject) else ("", value)
        )
        parts.append(b"\x0a\x0b")  # inline object, inline traits, dynamic, no sealed members
        _str(name, parts)
        for key, item in fields.items():
            if not key:
                raise ValueError("AMF3 dynamic member names cannot be empty")
            _str(str(key), parts)
            _encode(item, parts, depth + 1)
        parts.append(b"\x01")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as AMF3")


def encode(*values: Any) -> bytes:
    """Encode values as AMF3, one after another (no references are written)."""
    parts: list[bytes] = []
    for value in values:
        _encode(value, parts, 0)
    return b"".join(parts)
