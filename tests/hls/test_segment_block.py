"""A live segment laid out in one block (``headwater_hls.segment_block``): one piece to send,
the same bytes as the batches' pieces, whatever the batches, GOPs and timestamp jumps."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hls_window import AUDIO, T0, VIDEO, av

from headwater.media.frames import Frame
from headwater.media.segmenter import Step
from headwater_hls import segment_block
from headwater_hls.replies import Reply, send_reply
from headwater_hls.segment_block import PACKET, SLACK_ROWS, SegmentBlock, block_rows
from headwater_hls.window import SegmentWindow


class PiecesWindow(SegmentWindow):
    """The window as it was: no blocks, every segment is the pieces of its batches."""

    def _new_block(self):
        return None


def _window(cls=SegmentWindow, count: int = 40, **kw) -> SegmentWindow:
    return cls(target=2.0, count=count, sequence=1000, discontinuity=50, **kw)


def _segments(window) -> list[tuple]:
    return [
        (s.sequence, bytes(s.data), s.size, s.duration, s.date_time, s.discontinuity)
        for s in window.segments
    ]


def _feed(window, frames: list[Frame], bounds: list[int]) -> None:
    window.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
    for a, b in pairwise(bounds):
        window.feed_many(frames[a:b])
    window.end_publication()


@pytest.mark.parametrize("batch", [5, 27, 60])
@pytest.mark.parametrize("gop", [1.0, 2.0, 3.0])
def test_live_batches_give_one_piece_segments_with_the_same_bytes(batch, gop) -> None:
    """Grouped AAC (the live default) and batches of a few to many frames: each segment
    after the second is one piece, and every segment has the bytes it had in pieces."""
    frames = av(16, gop)
    bounds = [*range(0, len(frames), batch), len(frames)]
    blocks, pieces = _window(), _window(PiecesWindow)
    _feed(blocks, frames, bounds)
    _feed(pieces, frames, bounds)
    assert _segments(blocks) == _segments(pieces)
    assert len(blocks.segments) >= 5
    # the first segment (the cached GOP) is cut in pieces: nothing to size a block from
    assert all(len(s.chunks) == 1 for s in list(blocks.segments)[1:])
    assert all(s.size == sum(len(c) for c in s.chunks) for s in blocks.segments)


def test_a_segment_keeps_its_bytes_while_later_ones_are_cut() -> None:
    """A block is never written again once its segment closed (players may be reading)."""
    frames = av(20, 1.0)
    w = _window()
    w.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
    seen: dict[int, bytes] = {}
    for first in range(0, len(frames), 20):
        w.feed_many(frames[first : first + 20])
        for s in w.segments:
            seen.setdefault(s.sequence, bytes(s.data))
    assert {s.sequence: bytes(s.data) for s in w.segments} == {
        s.sequence: seen[s.sequence] for s in w.segments
    }


def test_blocks_are_reused_once_nobody_reads_them(monkeypatch) -> None:
    """A window of two segments over a minute: the blocks of segments that left it are
    laid out again, but not one whose bytes a player still holds."""
    made = []

    class Counted(SegmentBlock):
        __slots__ = ()

        def __init__(self, rows: int) -> None:
            super().__init__(rows)
            made.append(self)

    monkeypatch.setattr(segment_block, "SegmentBlock", Counted)
    frames = av(60, 1.0)
    w, pieces = _window(count=2), _window(PiecesWindow, count=2)
    held = []  # a player still sending these
    for window in (w, pieces):
        window.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
    for first in range(0, len(frames), 25):
        for window in (w, pieces):
            window.feed_many(frames[first : first + 25])
        assert _segments(w) == _segments(pieces)
        if len(held) < 3 and w.segments:
            held.append((w.segments[-1], bytes(w.segments[-1].data)))
    assert all(bytes(segment.data) == data for segment, data in held)
    assert len(w.segments) == 3 and w.next_sequence - 1000 == 30
    assert all(len(s.chunks) == 1 for s in w.segments)
    assert len(made) <= 3 + 3 + 2  # held, kept by the "player", spare: not one a segment


@settings(max_examples=80, deadline=None)
@given(
    gop=st.sampled_from([0.4, 1.0, 2.0, 3.2]),
    skip=st.integers(0, 30),
    cuts=st.lists(st.integers(1, 600), max_size=25),
    jump=st.sampled_from([None, -5 * 90000, -45000, 20 * 90000]),
    jump_at=st.integers(0, 300),
    grouped=st.booleans(),
)
def test_blocks_give_the_bytes_of_pieces(gop, skip, cuts, jump, jump_at, grouped) -> None:
    """Any batches, a start anywhere in a GOP, a timestamp jump anywhere (where the
    window cannot foresee the cut): the segments are those of the pieces, byte for byte."""
    frames = av(12, gop)[skip:]
    if jump is not None and jump_at < len(frames):
        frames = frames[:jump_at] + [
            Frame(f.track, f.pts + jump, f.dts + jump, f.keyframe, nalus=f.nalus, data=f.data)
            for f in frames[jump_at:]
        ]
    bounds = sorted({0, len(frames), *(c % (len(frames) + 1) for c in cuts)})
    kw = {} if grouped else {"audio_pes_bytes": 0}
    blocks, pieces = _window(**kw), _window(PiecesWindow, **kw)
    _feed(blocks, frames, bounds)
    _feed(pieces, frames, bounds)
    assert _segments(blocks) == _segments(pieces)


def test_block_rows_follow_the_bitrate() -> None:
    # 1 MB over 2 s for 2 s segments: a quarter more and the slack
    assert block_rows(1_000_000, 2.0, 2.0) == int(1_000_000 / PACKET * 1.25) + SLACK_ROWS
    # a short segment (the cached GOP) sized up to the target
    assert block_rows(250_000, 0.5, 2.0) == block_rows(1_000_000, 2.0, 2.0)


def test_a_batch_that_does_not_fit_keeps_the_pieces() -> None:
    block = SegmentBlock(10)
    first = block.rows(6)
    assert first.base is block.block and block.used == 6
    spilled = block.rows(5)
    assert spilled.base is not block.block and block.spilled
    assert block.laid_out(6 * PACKET, [memoryview(first).cast("B")]) is None


def test_laid_out_is_the_first_bytes_when_every_part_lies_there() -> None:
    block = SegmentBlock(10)
    rows = block.rows(3)
    rows[:] = 7
    part = memoryview(rows).cast("B")
    assert block.laid_out(4 * PACKET, [part]) is None  # more than the block holds
    assert block.laid_out(3 * PACKET, [part, b"x" * 188]) is None  # a part elsewhere
    elsewhere = memoryview(bytearray(3 * PACKET))
    assert block.laid_out(3 * PACKET, [elsewhere]) is None
    whole = block.laid_out(2 * PACKET, [part[: 2 * PACKET]])  # the next segment's start after
    assert whole is not None and bytes(whole) == bytes([7]) * (2 * PACKET)
    assert block.in_use()
    del rows, part, whole
    assert not block.in_use()
    block.spilled = True
    block.reset()
    assert block.used == 0 and not block.spilled


def test_bytes_written_elsewhere_are_adopted() -> None:
    block = SegmentBlock(10)
    block.rows(1)[:] = 1
    data = bytes(range(188)) * 2
    step = Step(memoryview(data), None, None, 5)
    adopted = block.adopt(step)
    assert bytes(adopted.data) == data and adopted.last_dts == 5 and block.used == 3
    assert np.shares_memory(np.frombuffer(adopted.data, np.uint8), block.block)
    whole = block.laid_out(3 * PACKET, [memoryview(block.block[:1]).cast("B"), adopted.data])
    assert whole is not None and bytes(whole)[PACKET:] == data
    assert block.adopt(Step(b"")).data == b""
    big = Step(bytes(188 * 8))
    assert block.adopt(big) is big and block.spilled  # does not fit
    assert block.adopt(step) is step  # nor anything after


@pytest.mark.anyio
async def test_a_one_piece_segment_is_one_body_message() -> None:
    frames = av(10, 1.0)
    w = _window()
    _feed(w, frames, [*range(0, len(frames), 27), len(frames)])
    segment = w.segments[3]
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await send_reply(send, Reply(200, [], segment.chunks))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert bytes(sent[1]["body"]) == bytes(segment.data)
