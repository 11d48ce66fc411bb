"""Cheap SRT callers for the benchmark: a sans-I/O live sender and an asyncio driver that
runs many of them in one process (issue 14, 200 small SRT streams).

Two hundred ffmpeg callers on 2 cores measure nothing but their own contention (a load
average near 90 in the first run), so the 200-caller rows use these instead: each caller
does the real HSv5 caller handshake (INDUCTION, CONCLUSION with HSREQ, KMREQ and stream
id), then sends the pre-muxed TS clip as 1316-byte live data packets (seven TS packets,
as ffmpeg's ``pkt_size``, cut short at each video frame as ffmpeg does), each when its
time is due, encrypted with AES-CTR, answers
full ACKs with ACKACKs, retransmits what a NAK names and leaves with a SHUTDOWN.

To keep the publishers' CPU small, the clip is cut and encrypted once per process for a
fixed initial sequence number and one key (:class:`PreparedClip`); every caller of the
process then sends the same payloads under its own socket ids, patching only the
16-byte header. The server still unwraps each caller's key material, decrypts each
packet and keeps one receive buffer per connection, so its work is what real callers
cause.

``python -m bench.harness.srt_caller`` runs a set of callers until SIGTERM; a line
``FAILED <index> <reason>`` on stderr marks a caller that was refused or dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import struct
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from headwater_srt.wire.control import decode_loss_list
from headwater_srt.wire.crypto import PayloadCipher, make_key_material
from headwater_srt.wire.handshake import (
    ExtensionFlag,
    ExtensionType,
    Handshake,
    HandshakeType,
    HsExtension,
    SrtFlag,
    encode_stream_id,
)
from headwater_srt.wire.packet import ControlPacket, ControlType, KeySpec, parse_packet

if TYPE_CHECKING:
    from bench.harness.ingest import Run

ROOT = Path(__file__).resolve().parent.parent.parent
"""The checkout (where ``python -m bench.harness.srt_caller`` runs)."""
ISN = 0x1F00_0000
"""The initial sequence number every caller of a :class:`PreparedClip` starts from."""
LIVE_FLAGS = (SrtFlag.TSBPDSND | SrtFlag.TSBPDRCV | SrtFlag.CRYPT | SrtFlag.TLPKTDROP
              | SrtFlag.PERIODICNAK | SrtFlag.REXMITFLG)  # fmt: skip
HANDSHAKE_RETRY = 250_000
"""µs between two handshake packets while unanswered (libsrt: 250 ms)."""
REXMIT_WINDOW = 1_000_000
"""A NAK for a packet sent longer ago than this is ignored, µs (the listener's latency is
far shorter: such a packet could only arrive too late)."""
_HEAD = struct.Struct("!IIII")
_SOLO_EVEN = (0b11 << 30) | (KeySpec.EVEN << 27)
_SOLO_PLAIN = 0b11 << 30
_REXMIT = 0x0400_0000
_ACK_TYPE = (0x8000 | ControlType.ACK).to_bytes(2, "big")
_ACKACK_WORD0 = 0x8000_0000 | (ControlType.ACKACK << 16)


def now_us() -> int:
    """Monotonic microseconds."""
    return time.monotonic_ns() // 1000


def cut_like_ffmpeg(ts: bytes) -> list[bytes]:
    """Cut a TS file into live payloads as ffmpeg's SRT output does: seven TS packets
    each, except that the packet before each video frame's first TS packet leaves short
    (ffmpeg flushes after every frame; about 7 % of its packets at 4 Mbit/s)."""
    count = len(ts) // 188
    pids = [((ts[i * 188 + 1] & 0x1F) << 8) | ts[i * 188 + 2] for i in range(count)]
    video = max(set(pids), key=pids.count)
    chunks: list[bytes] = []
    start = 0
    for i in range(count):
        starts_frame = pids[i] == video and ts[i * 188 + 1] & 0x40
        if i > start and (i - start == 7 or starts_frame):
            chunks.append(ts[start * 188 : i * 188])
            start = i
    if count > start:
        chunks.append(ts[start * 188 : count * 188])
    return chunks


class PreparedClip:
    """A TS clip cut into live payloads, looped to ``seconds``, encrypted once."""

    def __init__(self, ts: bytes, clip_seconds: float, seconds: float,
                 passphrase: str | None, key_length: int = 16) -> None:  # fmt: skip
        chunks = cut_like_ffmpeg(ts)
        self.interval = clip_seconds * 1e6 / len(chunks)
        """µs between two packets (the clip's own rate)."""
        count = int(seconds * 1e6 / self.interval) + 1
        plain = [chunks[k % len(chunks)] for k in range(count)]
        self.km = None
        self.word2 = _SOLO_PLAIN
        self.payloads: list[bytes] = plain
        if passphrase:
            self.km, keys = make_key_material(passphrase, key_length)
            cipher = PayloadCipher(keys[KeySpec.EVEN], self.km.salt)
            seqs = [(ISN + k) & 0x7FFF_FFFF for k in range(count)]
            self.payloads = [bytes(p) for p in cipher.apply_many(seqs, plain)]
            self.word2 = _SOLO_EVEN
        self.rate = sum(map(len, chunks)) / len(chunks) * 8e6 / self.interval
        """Bits per second of one caller."""


class SrtCaller:
    """One live SRT caller, sans-I/O: datagrams in, datagrams out, time passed in."""

    def __init__(self, clip: PreparedClip, stream_id: str | None, socket_id: int,
                 latency_ms: int = 120) -> None:  # fmt: skip
        self.clip = clip
        self.stream_id = stream_id
        self.socket_id = socket_id
        self.latency_ms = latency_ms
        self.state = "idle"
        self.reason = ""
        self.peer_socket = 0
        self.start = 0
        self.data_start = 0
        """Local µs at which data packet 0 was due (the handshake's end)."""
        self.sent = 0
        """Data packets sent so far (the next one's index in the clip)."""
        self.retransmitted = 0
        self._cookie = 0
        self._last_hs = 0

    # -- handshake ----------------------------------------------------------------------

    def connect(self, now: int) -> list[bytes]:
        """Start the handshake: the INDUCTION."""
        self.start = now
        self.state = "induction"
        return [self._handshake(now)]

    def _handshake(self, now: int) -> bytes:
        self._last_hs = now
        ts = (now - self.start) & 0xFFFF_FFFF
        if self.state == "induction":
            hs = Handshake(4, HandshakeType.INDUCTION, self.socket_id, extension=2, isn=ISN)
            return hs.packet(ts, 0)
        hsreq = HsExtension(0x010503, LIVE_FLAGS, self.latency_ms, self.latency_ms).encode()
        exts = [(ExtensionType.HSREQ, hsreq)]
        flags = ExtensionFlag.HSREQ
        if self.clip.km is not None:
            exts.append((ExtensionType.KMREQ, self.clip.km.encode()))
            flags |= ExtensionFlag.KMREQ
        if self.stream_id is not None:
            exts.append((ExtensionType.SID, encode_stream_id(self.stream_id)))
            flags |= ExtensionFlag.CONFIG
        enc = self.clip.km.key_length // 8 if self.clip.km is not None else 0
        hs = Handshake(5, HandshakeType.CONCLUSION, self.socket_id, cookie=self._cookie,
                       encryption=enc, extension=flags, isn=ISN, extensions=exts)  # fmt: skip
        return hs.packet(ts, 0)

    # -- input --------------------------------------------------------------------------

    def receive(self, data: bytes, now: int) -> list[bytes]:
        """Handle one datagram from the listener; returns the datagrams to send back."""
        if len(data) < 16 or not data[0] & 0x80 or self.state in ("refused", "closed"):
            return []
        if data[:2] == _ACK_TYPE and self.state == "connected":  # the common case, cheaply
            _w0, number, _ts, _dest = _HEAD.unpack_from(data)
            if not number:  # a light ACK wants no answer
                return []
            ts = (now - self.start) & 0xFFFF_FFFF
            return [_HEAD.pack(_ACKACK_WORD0, number, ts, self.peer_socket)]
        pkt = parse_packet(data)
        assert isinstance(pkt, ControlPacket)
        if pkt.type == ControlType.HANDSHAKE:
            return self._on_handshake(Handshake.parse(pkt.cif), now)
        if self.state != "connected":
            return []
        ts = (now - self.start) & 0xFFFF_FFFF
        if pkt.type == ControlType.NAK:
            return self._retransmit(decode_loss_list(pkt.cif), now)
        if pkt.type == ControlType.SHUTDOWN:
            self.state, self.reason = "closed", "the listener shut the connection down"
        return []

    def _on_handshake(self, hs: Handshake, now: int) -> list[bytes]:
        if self.state == "induction" and hs.type == HandshakeType.INDUCTION:
            self._cookie = hs.cookie
            self.state = "conclusion"
            return [self._handshake(now)]
        if self.state == "conclusion" and hs.type == HandshakeType.CONCLUSION:
            self.peer_socket = hs.socket_id
            self.state = "connected"
            self.data_start = now
            return []
        if self.state == "conclusion" and hs.type >= 1000:
            self.state, self.reason = "refused", f"rejected with handshake type {hs.type}"
        return []

    def _retransmit(self, ranges: list[tuple[int, int]], now: int) -> list[bytes]:
        out = []
        oldest = self.sent - int(REXMIT_WINDOW / self.clip.interval)
        for first, last in ranges:
            k0 = (first - ISN) & 0x7FFF_FFFF
            k1 = (last - ISN) & 0x7FFF_FFFF
            for k in range(max(k0, oldest, 0), min(k1 + 1, self.sent)):
                out.append(self._data(k, now, _REXMIT))
                self.retransmitted += 1
        return out

    # -- time ---------------------------------------------------------------------------

    def due(self, now: int) -> list[bytes]:
        """The datagrams due at ``now``: data packets whose time came, or a handshake
        repeat."""
        if self.state == "connected":
            clip = self.clip
            upto = min(int((now - self.data_start) / clip.interval) + 1, len(clip.payloads))
            out = [self._data(k, now, 0) for k in range(self.sent, upto)]
            self.sent = max(self.sent, upto)
            if upto == len(clip.payloads) and self.state == "connected":
                self.state, self.reason = "closed", "the prepared clip ran out"
            return out
        if self.state in ("induction", "conclusion") and now - self._last_hs >= HANDSHAKE_RETRY:
            return [self._handshake(now)]
        return []

    def _data(self, k: int, now: int, flags: int) -> bytes:
        clip = self.clip
        word2 = clip.word2 | flags | ((k + 1) & 0x03FF_FFFF)
        # the packet's origin time (a retransmission keeps it)
        ts = self.data_start - self.start + int(k * clip.interval)
        head = _HEAD.pack((ISN + k) & 0x7FFF_FFFF, word2, ts & 0xFFFF_FFFF, self.peer_socket)
        return head + clip.payloads[k]

    def shutdown(self, now: int) -> list[bytes]:
        """Leave: a SHUTDOWN when connected."""
        if self.state != "connected":
            return []
        self.state = "closed"
        ts = (now - self.start) & 0xFFFF_FFFF
        head = 0x8000_0000 | (ControlType.SHUTDOWN << 16)
        return [_HEAD.pack(head, 0, ts, self.peer_socket) + b"\0\0\0\0"]


# -- the asyncio driver -------------------------------------------------------------------


ERRORS: dict[str, int] = {}
"""Send errors of this process's callers, by kind."""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, caller: SrtCaller) -> None:
        self.caller = caller
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        assert self.transport is not None
        for out in self.caller.receive(data, now_us()):
            self.transport.sendto(out)

    def error_received(self, exc: Exception) -> None:
        ERRORS[type(exc).__name__] = ERRORS.get(type(exc).__name__, 0) + 1


async def run_callers(
    host: str,
    callers: list[tuple[int, str | None]],
    clip: PreparedClip,
    spacing: float,
    connect_timeout: float,
    tick: float = 0.010,
) -> None:
    """Run one caller per ``(port, stream id)`` until cancelled, started ``spacing``
    apart; report each failure on stderr once."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    running: list[tuple[int, SrtCaller, _Protocol]] = []
    reported: set[int] = set()
    base_id = (os.getpid() & 0xFFFF) << 12
    next_start = time.monotonic()
    pending = list(enumerate(callers))
    while not stop.is_set():
        now_m = time.monotonic()
        while pending and now_m >= next_start:
            i, (port, sid) = pending.pop(0)
            caller = SrtCaller(clip, sid, base_id + i + 1)
            _t, proto = await loop.create_datagram_endpoint(
                lambda c=caller: _Protocol(c), remote_addr=(host, port)
            )
            for out in caller.connect(now_us()):
                proto.transport.sendto(out)  # type: ignore[union-attr]
            running.append((i, caller, proto))
            next_start += spacing
        now = now_us()
        for i, caller, proto in running:
            if caller.state in ("induction", "conclusion") and (
                now - caller.start > connect_timeout * 1e6
            ):
                caller.state, caller.reason = "refused", "connect timeout"
            if caller.state in ("refused", "closed"):
                if i not in reported:
                    reported.add(i)
                    print(f"FAILED {i} {caller.reason}", file=sys.stderr, flush=True)
                continue
            send = proto.transport.sendto  # type: ignore[union-attr]
            for out in caller.due(now):
                send(out)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)
    now = now_us()
    for _i, caller, proto in running:
        for out in caller.shutdown(now):
            proto.transport.sendto(out)  # type: ignore[union-attr]
    await asyncio.sleep(0.05)
    sent = sum(c.sent for _i, c, _p in running)
    rexmit = sum(c.retransmitted for _i, c, _p in running)
    errors = ", ".join(f"{v} {k}" for k, v in ERRORS.items()) or "no send errors"
    print(f"SENT {sent} packets, {rexmit} retransmitted, {errors}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run callers described on the command line until SIGTERM."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--clip", type=Path, required=True, help="the TS clip to loop")
    p.add_argument("--clip-seconds", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True, help="how long the clip must last")
    p.add_argument("--callers", required=True, help="JSON list of [port, stream id or null]")
    p.add_argument("--passphrase")
    p.add_argument("--pbkeylen", type=int, default=16)
    p.add_argument("--spacing", type=float, default=0.02, help="seconds between two starts")
    p.add_argument("--connect-timeout", type=float, default=15.0)
    args = p.parse_args(argv)
    clip = PreparedClip(args.clip.read_bytes(), args.clip_seconds, args.seconds,
                        args.passphrase, args.pbkeylen)  # fmt: skip
    callers = [(int(port), sid) for port, sid in json.loads(args.callers)]
    coro = run_callers(args.host, callers, clip, args.spacing, args.connect_timeout)
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(coro)


async def run_group(run: Run, first: int, callers: list[tuple[int, str | None]], clip: Path,
                    clip_seconds: float, seconds: float, passphrase: str | None, pbkeylen: int,
                    spacing: float) -> None:  # fmt: skip
    """Run a process of callers (indices ``first``, ``first + 1``, ...) until the stop:
    each ``FAILED`` line it prints before the stop marks that publisher failed; the
    process is terminated at the stop and its ``SENT`` line counted."""
    cmd = [sys.executable, "-m", "bench.harness.srt_caller", "--clip", str(clip),
           "--clip-seconds", str(clip_seconds), "--seconds", str(seconds),
           "--callers", json.dumps(callers), "--pbkeylen", str(pbkeylen or 16),
           "--spacing", str(spacing)]  # fmt: skip
    if passphrase:
        cmd += ["--passphrase", passphrase]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None

    async def read() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").strip()
            if line.startswith("FAILED "):
                _tag, index, reason = line.split(" ", 2)
                i = first + int(index)
                if not run.stop.is_set():
                    run.failed.setdefault(i, f"c{i}: {reason}")
            elif line.startswith("SENT "):
                run.count("srt_sent_packets", int(line.split()[1]))
            elif line:
                run.late.append(f"callers {first}..: {line[-200:]}")

    reader = asyncio.create_task(read())
    exited = asyncio.create_task(proc.wait())
    stopped = asyncio.create_task(run.stop.wait())
    try:
        await asyncio.wait([stopped, exited], return_when=asyncio.FIRST_COMPLETED)
        if exited.done() and not run.stop.is_set():
            await asyncio.wait([reader], timeout=2)
            raise ConnectionError(f"callers {first}.. exited with {proc.returncode}")
    finally:
        stopped.cancel()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(exited, 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await asyncio.wait([reader], timeout=2)
        reader.cancel()


if __name__ == "__main__":
    main()
