"""SDP, the Session Description Protocol (RFC 8866, formerly RFC 4566): parse and write.

Only the structure is handled here — session lines, media sections (``m=``) and their
attributes, with helpers for the attributes RTP media need (``rtpmap``, ``fmtp``,
``control``, RFC 8866 section 6.6 and 6.15; RFC 2326 C.1.1 for ``control``). Which codec a
media section carries and how its RTP is depacketized is :mod:`headwater.media.rtp.formats`.
Lenient where real encoders are sloppy (bare ``\\n`` line ends, unknown line types, missing
``t=``), strict where it matters (a known line with a bad value, too many lines or media).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater.errors import MediaError
from headwater.log_text import shown

MAX_LINES = 1000
MAX_MEDIA = 16


class SDPError(MediaError):
    """A session description that cannot be parsed."""


@dataclass(slots=True)
class RTPMap:
    """An ``a=rtpmap`` value: encoding name, clock rate and (audio) channel count."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int = 0


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section and the lines under it."""

    kind: str
    port: int = 0
    protocol: str = "RTP/AVP"
    formats: list[str] = field(default_factory=list)
    connection: str = ""
    bandwidth: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str | None]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name:value`` (``""`` for a flag), or None."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    @property
    def control(self) -> str:
        """The ``a=control`` URL (absolute or relative to the aggregate URL), or ``""``."""
        return self.attribute("control") or ""

    @property
    def payload_type(self) -> int:
        """The first payload type of the section (what one RTP stream carries)."""
        if not self.formats or not self.formats[0].isdigit():
            raise SDPError(f"m={shown(self.kind, 40)} has no numeric payload type")
        return int(self.formats[0])

    def rtpmap(self, payload_type: int | None = None) -> RTPMap | None:
        """The ``a=rtpmap`` of ``payload_type`` (default: the first format), or None."""
        pt = self.payload_type if payload_type is None else payload_type
        for key, value in self.attributes:
            if key != "rtpmap" or not value:
                continue
            number, _, rest = value.partition(" ")
            if number.strip() != str(pt):
                continue
            parts = rest.strip().split("/")
            try:
                clock = int(parts[1]) if len(parts) > 1 else 0
                channels = int(parts[2]) if len(parts) > 2 and parts[2] else 0
            except ValueError:
                raise SDPError(f"malformed a=rtpmap:{shown(value, 60)}") from None
            return RTPMap(pt, parts[0], clock, channels)
        return None

    def fmtp(self, payload_type: int | None = None) -> dict[str, str]:
        """The ``a=fmtp`` parameters of ``payload_type`` (keys lower-cased), or ``{}``."""
        pt = self.payload_type if payload_type is None else payload_type
        for key, value in self.attributes:
            if key != "fmtp" or not value:
                continue
            number, _, rest = value.partition(" ")
            if number.strip() != str(pt):
                continue
            params: dict[str, str] = {}
            for item in rest.split(";"):
                name, eq, val = item.strip().partition("=")
                if name:
                    params[name.strip().lower()] = val.strip() if eq else ""
            return params
        return {}

    def lines(self) -> list[str]:
        """The section's lines as written."""
        out = [f"m={self.kind} {self.port} {self.protocol} {' '.join(self.formats)}"]
        if self.connection:
            out.append(f"c={self.connection}")
        out += [f"b={b}" for b in self.bandwidth]
        out += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        return out


@dataclass(slots=True)
class SessionDescription:
    """A whole session description."""

    origin: str = "- 0 0 IN IP4 127.0.0.1"
    name: str = "headwater"
    connection: str = ""
    timing: str = "0 0"
    info: str = ""
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        """The value of the first session-level ``a=name``, or None."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def to_bytes(self) -> bytes:
        """The description as sent (CRLF line ends)."""
        lines = ["v=0", f"o={self.origin}", f"s={self.name or ' '}"]
        if self.info:
            lines.append(f"i={self.info}")
        if self.connection:
            lines.append(f"c={self.connection}")
        lines.append(f"t={self.timing}")
        lines += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        for media in self.media:
            lines += media.lines()
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def parse_sdp(data: bytes | str) -> SessionDescription:
    """Parse a session description; raise :class:`SDPError` when it is not one."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SDPError("SDP is not UTF-8") from None
    else:
        text = data
    lines = [line.strip("\r") for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    if len(lines) > MAX_LINES:
        raise SDPError(f"SDP has more than {MAX_LINES} lines")
    if not lines or lines[0].strip() != "v=0":
        raise SDPError("SDP does not start with v=0")
    session = SessionDescription(origin="", name="", timing="")
    media: MediaDescription | None = None
    for line in lines[1:]:
        kind, eq, value = line.partition("=")
        if not eq or len(kind) != 1:
            raise SDPError(f"malformed SDP line {shown(line, 60)}")
        if kind == "m":
            if len(session.media) >= MAX_MEDIA:
                raise SDPError(f"SDP has more than {MAX_MEDIA} media sections")
            media = _media_line(value)
            session.media.append(media)
        elif kind == "a":
            name, colon, attr = value.partition(":")
            item = (name.strip(), attr.strip() if colon else None)
            (media.attributes if media else session.attributes).append(item)
        elif kind == "c":
            if media:
                media.connection = value.strip()
            else:
                session.connection = value.strip()
        elif kind == "b" and media:
            media.bandwidth.append(value.strip())
        elif media is None:
            if kind == "o":
                session.origin = value.strip()
            elif kind == "s":
                session.name = value.strip()
            elif kind == "t":
                session.timing = value.strip()
            elif kind == "i":
                session.info = value.strip()
    return session


def _media_line(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise SDPError(f"malformed m= line {shown(value, 60)}")
    port = parts[1].partition("/")[0]
    if not port.isdigit() or int(port) > 65535:
        raise SDPError(f"malformed port in m= line {shown(value, 60)}")
    return MediaDescription(parts[0].lower(), int(port), parts[2], parts[3:])
