"""Helpers of the SRT end-to-end tests (no tests here): a frame-collecting test plugin, the
command line, and a comparison of collected frames with the source clip's."""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater import Frame, hookimpl
from headwater.media.mpegts import TracksChanged, TSReader


def source_frames(data: bytes) -> list[tuple]:
    """(codec, pts, dts, keyframe, payload) of every frame of a TS buffer, in order."""
    reader = TSReader()
    return [key(e) for e in reader.feed(data) + reader.flush() if not isinstance(e, TracksChanged)]


def key(frame: Frame) -> tuple:
    payload = tuple(bytes(n) for n in frame.nalus) or (bytes(frame.data),)
    return (frame.track.codec.value, frame.pts, frame.dts, frame.keyframe, payload)


@dataclass
class Collector:
    """A test plugin: every stream's frames, collected from the start of the publication."""

    frames: dict[str, list[tuple]] = field(default_factory=dict)

    @hookimpl
    def stream_started(self, stream, settings):
        frames = self.frames.setdefault(stream.name, [])

        class Consumer:
            name = "test-collector"

            async def run(self, subscription) -> None:
                async for frame in subscription:
                    frames.append(key(frame))

        return [Consumer()]


def srt_url(
    port: int, streamid: str | None = None, passphrase: str | None = None, pbkeylen: int = 16
) -> str:
    url = f"srt://127.0.0.1:{port}?mode=caller&latency=120000"
    if streamid is not None:
        url += f"&streamid={streamid}"
    if passphrase is not None:
        url += f"&passphrase={passphrase}&pbkeylen={pbkeylen}"
    return url


def publish_args(clip, url: str, realtime: bool = True) -> list[str]:
    return [*(["-re"] if realtime else []), "-i", str(clip), "-c", "copy", "-f", "mpegts", url]


def by_codec(frames: list[tuple]) -> dict[str, list[tuple]]:
    """Frames grouped per codec, in order (tracks interleave differently per chunking)."""
    out: dict[str, list[tuple]] = {}
    for f in frames:
        out.setdefault(f[0], []).append(f)
    return out


def assert_same_frames(got: list[tuple], source: list[tuple]) -> None:
    """Per codec, ``got`` is ``source`` from the first frame on, byte for byte and with
    the same timestamps (one constant shift); it may lack the clip's last frames (libsrt
    callers in live mode close without sending what is left in their send buffer)."""
    assert len(got) > len(source) // 2, (len(got), len(source))
    mine, theirs = by_codec(got), by_codec(source)
    assert mine.keys() == theirs.keys()
    shift = got[0][1] - next(f for f in source if f[0] == got[0][0])[1]
    for codec, frames in mine.items():
        src = theirs[codec][: len(frames)]
        assert [f[3:] for f in frames] == [f[3:] for f in src], codec
        assert {(a[1] - b[1], a[2] - b[2]) for a, b in zip(frames, src, strict=False)} == {
            (shift, shift)
        }


class LossyRelay:
    """A UDP relay between one SRT caller and a listener, written for the tests.

    Client→server data packets may be dropped (``loss``), held back behind the next one
    (``reorder``) or sent twice (``duplicate``), and server→client control packets may be
    dropped too, for ``impair_for`` seconds from the first data packet (a libsrt caller
    does not retransmit after it closed, so the end of a clip must pass unharmed).
    Every data packet the caller sent is recorded by sequence number (first copy).
    """

    def __init__(
        self,
        target_port: int,
        *,
        loss: float = 0.0,
        reorder: float = 0.0,
        duplicate: float = 0.0,
        impair_for: float = 1e9,
        seed: int = 5,
    ) -> None:
        import random

        self.target = ("127.0.0.1", target_port)
        self.loss, self.reorder, self.duplicate = loss, reorder, duplicate
        self.impair_for = impair_for
        self.rng = random.Random(seed)
        self.sent: dict[int, bytes] = {}
        """Sequence number → every data packet the caller sent (first copy, whole)."""
        self.key_material: bytes | None = None
        """The KMREQ of the caller's CONCLUSION, if it encrypts."""
        self.events: list[tuple[float, str, int]] = []
        """(time, "fwd" or "drop", sequence number) of every client→server data packet."""
        self.dropped = 0
        self.port = 0

    async def run(self, *, task_status) -> None:
        import time

        import anyio

        async with (
            await anyio.create_udp_socket(local_host="127.0.0.1") as front,
            await anyio.create_connected_udp_socket(
                self.target[0], self.target[1], local_host="127.0.0.1"
            ) as back,
        ):
            self.port = front.extra(anyio.abc.SocketAttribute.local_port)
            client: list[tuple[str, int]] = []
            held: list[bytes] = []
            start: list[float] = []

            def impairing() -> bool:
                return bool(start) and time.monotonic() - start[0] < self.impair_for

            async def upstream() -> None:
                async for data, addr in front:
                    if not client:
                        client.append(addr)
                    is_data = data[0] & 0x80 == 0 and len(data) >= 16
                    if is_data:
                        seq = int.from_bytes(data[:4], "big")
                        if not start:
                            start.append(time.monotonic())
                        self.sent.setdefault(seq, data)
                    elif data[:2] == b"\x80\x00" and self.key_material is None:
                        self._note_key_material(data)
                    if impairing():
                        if self.rng.random() < self.loss:
                            self.dropped += is_data
                            if is_data:
                                self.events.append((time.monotonic(), "drop", seq))
                            continue
                        if is_data and self.rng.random() < self.reorder and not held:
                            held.append(data)
                            continue
                        if is_data and self.rng.random() < self.duplicate:
                            await back.send(data)
                    if is_data:
                        self.events.append((time.monotonic(), "fwd", seq))
                    await back.send(data)
                    while held:
                        await back.send(held.pop())

            async def downstream() -> None:
                async for data in back:
                    if impairing() and self.rng.random() < self.loss:
                        continue
                    if client:
                        await front.sendto(data, *client[0])

            async with anyio.create_task_group() as tg:
                tg.start_soon(upstream)
                tg.start_soon(downstream)
                task_status.started(self.port)

    def _note_key_material(self, data: bytes) -> None:
        from headwater_srt.wire.handshake import ExtensionType, Handshake

        hs = Handshake.parse(data[16:])
        self.key_material = hs.find(ExtensionType.KMREQ)

    def expected_payload(self, passphrase: str | None = None) -> bytes:
        """The caller's payload in sequence order (every packet it sent, once), decrypted
        with the KMREQ it sent when ``passphrase`` is given."""
        seqs = sorted(self.sent)
        if seqs and seqs[-1] - seqs[0] > 1 << 30:  # wrapped
            seqs = sorted(seqs, key=lambda s: (s - seqs[-1]) & 0x7FFF_FFFF)
        if passphrase is None:
            return b"".join(self.sent[s][16:] for s in seqs)
        from headwater_srt.wire.crypto import StreamDecryptor
        from headwater_srt.wire.keymaterial import KeyMaterial

        assert self.key_material is not None
        dec = StreamDecryptor(passphrase, KeyMaterial.parse(self.key_material))
        out = []
        for s in seqs:
            packet = self.sent[s]
            out.append(dec.decrypt((packet[4] >> 3) & 3, s, packet[16:]))
        return b"".join(out)
