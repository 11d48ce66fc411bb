"""UDP MPEG-TS push: ``udp://host:port`` gets seven 188-byte packets per datagram.

Seven packets (1316 bytes) fit an Ethernet MTU with IP/UDP (and RTP) headers, which is
what set-top boxes, ffmpeg and VLC expect. Datagrams are paced by the frames' decoding
timestamps so a receiver sees real time, not bursts; a consumer that falls more than a
second behind (or a timestamp jump) re-anchors the clock instead of racing to catch up.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import anyio

from headwater import ConfigError, Subscription
from headwater.media.mpegts import TSWriter

DATAGRAM = 7 * 188
MAX_LAG = 1.0


def parse_udp_url(url: str) -> tuple[str, int]:
    """(host, port) of ``udp://host:port``; ConfigError naming the problem otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "udp" or not parts.hostname or not parts.port:
        raise ConfigError(f"{url}: a UDP push needs udp://host:port")
    return parts.hostname, parts.port


class UDPPush:
    """A consumer that sends a stream as TS over UDP to one address (unicast or multicast)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"udp-push {url}"
        self.host, self.port = parse_udp_url(url)
        self.datagrams = 0

    async def run(self, subscription: Subscription) -> None:
        """Send until the subscription ends; socket errors propagate (the push retries)."""
        writer = TSWriter(subscription.tracks)
        pending = b""
        anchor: tuple[float, int] | None = None
        async with await anyio.create_connected_udp_socket(
            self.host, self.port, local_host="0.0.0.0" if ":" not in self.host else "::"
        ) as sock:
            async for frame in subscription:
                now = time.monotonic()
                if anchor is None:
                    anchor = (now, frame.dts)
                due = anchor[0] + (frame.dts - anchor[1]) / 90000
                if due - now > MAX_LAG or now - due > MAX_LAG:
                    anchor, due = (now, frame.dts), now
                if due > now:
                    await anyio.sleep(due - now)
                data = pending + writer.write(frame)
                end = len(data) - len(data) % DATAGRAM
                for pos in range(0, end, DATAGRAM):
                    await sock.send(data[pos : pos + DATAGRAM])
                    self.datagrams += 1
                pending = data[end:]
            if pending:
                await sock.send(pending)
                self.datagrams += 1
