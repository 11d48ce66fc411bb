"""The RTSP ``Transport`` header (RFC 2326 section 12.39): how one media's RTP and RTCP
travel — interleaved on the RTSP connection (``RTP/AVP/TCP;interleaved=0-1``) or over UDP
unicast (``RTP/AVP;unicast;client_port=5000-5001``) — and whether the client records.

A client may offer several transports separated by commas; :func:`parse_transports` returns
them in order of preference and the server answers with the one it picked.
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater import shown
from headwater_rtsp.wire.message import RTSPError


@dataclass(slots=True)
class Transport:
    """One transport specification."""

    protocol: str = "RTP/AVP"
    """``RTP/AVP`` (or ``RTP/AVP/UDP``) for UDP, ``RTP/AVP/TCP`` for interleaved."""
    unicast: bool = True
    interleaved: tuple[int, int] | None = None
    client_port: tuple[int, int] | None = None
    server_port: tuple[int, int] | None = None
    record: bool = False
    ssrc: int | None = None
    ttl: int | None = None

    @property
    def tcp(self) -> bool:
        """True for RTP interleaved on the RTSP connection."""
        return self.protocol.upper().endswith("/TCP")

    def to_header(self) -> str:
        """The header value (what the server answers)."""
        parts = [self.protocol, "unicast" if self.unicast else "multicast"]
        if self.interleaved is not None:
            parts.append(f"interleaved={self.interleaved[0]}-{self.interleaved[1]}")
        if self.client_port is not None:
            parts.append(f"client_port={self.client_port[0]}-{self.client_port[1]}")
        if self.server_port is not None:
            parts.append(f"server_port={self.server_port[0]}-{self.server_port[1]}")
        if self.ssrc is not None:
            parts.append(f"ssrc={self.ssrc:08X}")
        if self.ttl is not None:
            parts.append(f"ttl={self.ttl}")
        if self.record:
            parts.append("mode=record")
        return ";".join(parts)


def _pair(name: str, value: str) -> tuple[int, int]:
    first, dash, second = value.partition("-")
    try:
        a = int(first)
        b = int(second) if dash else a + 1
    except ValueError:
        raise RTSPError(f"Transport {name}={shown(value, 40)} is not a number pair", 461) from None
    if not (0 <= a <= 65535 and 0 <= b <= 65535):
        raise RTSPError(f"Transport {name}={shown(value, 40)} out of range", 461)
    return a, b


def parse_transport(spec: str) -> Transport:
    """Parse one transport specification (no commas)."""
    fields = [f.strip() for f in spec.split(";") if f.strip()]
    if not fields or not fields[0].upper().startswith("RTP/AVP"):
        raise RTSPError(f"unsupported transport {shown(spec, 60)}", 461)
    t = Transport(protocol=fields[0].upper())
    for item in fields[1:]:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        value = value.strip().strip('"')
        if key == "unicast":
            t.unicast = True
        elif key == "multicast":
            t.unicast = False
        elif key == "interleaved" and eq:
            t.interleaved = _pair(key, value)
            if t.interleaved[0] > 255 or t.interleaved[1] > 255:
                raise RTSPError(f"interleaved channel above 255 in {shown(spec, 60)}", 461)
        elif key == "client_port" and eq:
            t.client_port = _pair(key, value)
        elif key == "server_port" and eq:
            t.server_port = _pair(key, value)
        elif key == "mode":
            t.record = value.lower() in ("record", "receive")
        elif key == "ssrc" and eq:
            try:
                t.ssrc = int(value, 16) & 0xFFFFFFFF
            except ValueError:
                raise RTSPError(
                    f"Transport ssrc={shown(value, 40)} is not hexadecimal", 461
                ) from None
        elif key == "ttl" and eq and value.isdigit():
            t.ttl = int(value)
    return t


def parse_transports(header: str) -> list[Transport]:
    """Every specification of a ``Transport`` header, in the client's order of preference."""
    out = [parse_transport(spec) for spec in header.split(",") if spec.strip()]
    if not out:
        raise RTSPError("empty Transport header", 461)
    return out
