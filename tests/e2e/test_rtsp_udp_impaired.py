"""End to end with a hand-driven RTSP publisher (real sockets, no ffmpeg): RTP over UDP
arriving reordered, duplicated and with a lost packet is put back in order and the loss
costs only the frame it hit; a publisher that stops sending without TEARDOWN is closed
after ``read_timeout`` while its RTSP connection is still open."""

from __future__ import annotations

import base64
import socket
import time

import anyio
import pytest
from test_srt_support import Collector

from headwater.media.rtp.h264 import packetize_h264
from headwater.media.rtp.packet import RTPPacket
from headwater.testing import running_server, wait_for_stream
from headwater_rtsp.wire.message import Headers, MessageReader, Request, Response

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SPS = base64.b64decode("Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw")
PPS = base64.b64decode("aM4PyA==")
SDP = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=hand\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets="
    f"{base64.b64encode(SPS).decode()},{base64.b64encode(PPS).decode()}\r\n"
    "a=control:trackID=0\r\n"
).encode()
FRAMES = 40
LOST_FRAME = 10


def access_unit(i: int) -> list[bytes]:
    if i == 0:
        return [b"\x65" + bytes((i * 7 + j) & 0xFF for j in range(2999))]
    return [b"\x41" + bytes((i * 7 + j) & 0xFF for j in range(1499))]


class HandClient:
    """Just enough of an RTSP publisher: requests on TCP, RTP from a UDP socket."""

    def __init__(self, stream, url: str) -> None:
        self.stream = stream
        self.url = url
        self.reader = MessageReader()
        self.cseq = 0
        self.session = ""

    async def request(self, method: str, url: str, body: bytes = b"", **headers) -> Response:
        self.cseq += 1
        h = Headers([("CSeq", str(self.cseq))])
        for name, value in headers.items():
            h[name.replace("_", "-")] = value
        if self.session:
            h["Session"] = self.session
        await self.stream.send(Request(method, url, h, body).to_bytes())
        with anyio.fail_after(5):
            while True:
                for event in self.reader.feed(await self.stream.receive()):
                    if isinstance(event, Response):
                        if "Session" in event.headers:
                            self.session = event.headers["Session"].split(";")[0]
                        return event


async def test_reordered_lossy_udp_then_silence(monkeypatch):
    collector = Collector()
    config = {"rtsp": {"read_timeout": 1.0}}
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtcp.bind(("127.0.0.1", 0))
    try:
        async with running_server(config, extra_plugins=[collector], protocols=("rtsp",)) as hw:
            port = hw.port("rtsp")
            url = f"rtsp://127.0.0.1:{port}/live/hand"
            async with await anyio.connect_tcp("127.0.0.1", port) as tcp:
                client = HandClient(tcp, url)
                r = await client.request("ANNOUNCE", url, SDP, Content_Type="application/sdp")
                assert r.status == 200
                ports = f"{udp.getsockname()[1]}-{rtcp.getsockname()[1]}"
                r = await client.request(
                    "SETUP",
                    url + "/trackID=0",
                    Transport=f"RTP/AVP;unicast;client_port={ports};mode=record",
                )
                assert r.status == 200
                server_port = int(r.headers["Transport"].split("server_port=")[1].split("-")[0])
                assert (await client.request("RECORD", url)).status == 200

                packets, lost_seq = [], None
                seq = 1000
                for i in range(FRAMES):
                    for payload, marker in packetize_h264(access_unit(i), 1000):
                        if i == LOST_FRAME and lost_seq is None and not marker:
                            lost_seq = seq
                        packets.append(RTPPacket(96, seq, 3600 * i, 7, payload, marker))
                        seq += 1
                wire = packets[:4]  # the first packet starts the sequence, then
                for k in range(4, len(packets), 4):  # each group of 4 is sent backwards
                    wire += reversed(packets[k : k + 4])
                wire.insert(20, wire[5])  # a duplicate
                for p in wire:
                    if p.sequence != lost_seq:
                        udp.sendto(p.to_bytes(), ("127.0.0.1", server_port))
                    await anyio.sleep(0.001)
                last_sent = time.monotonic()
                await wait_for_stream(hw.server, "live/hand", frames=FRAMES - 2, timeout=5)
                stream = hw.server.streams.get("live/hand")
                assert stream.live
                # silence: the session is closed after read_timeout, the connection with it
                with anyio.fail_after(5):
                    while stream.live:  # noqa: ASYNC110 (the stream has no "ended" event)
                        await anyio.sleep(0.05)
                assert 0.9 < time.monotonic() - last_sent < 3
                with anyio.fail_after(3):
                    with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                        while True:
                            await tcp.receive()
    finally:
        udp.close()
        rtcp.close()
    frames = collector.frames["live/hand"]
    # every frame but the one that lost a packet, in order, with its exact bytes
    expected = [i for i in range(FRAMES) if i != LOST_FRAME]
    assert [f[4] for f in frames] == [tuple(access_unit(i)) for i in expected]
    assert [f[1] for f in frames] == [3600 * i + frames[0][1] for i in expected]
    assert frames[0][3] and not any(f[3] for f in frames[1:])
