"""``Subscription.bytes_out`` read from another thread while the loop thread queues and takes
frames (the API's sync endpoints run in worker threads): never "deque mutated during
iteration" (it was: HTTP 500 on ``GET /streams`` under load)."""

from __future__ import annotations

import threading
import time

from headwater.media.frames import Codec, Frame, MediaKind, Track
from headwater.stream import Stream


def test_bytes_out_from_another_thread_while_frames_flow() -> None:
    stream = Stream("x")
    stream.begin({})
    sub = stream.open_subscription("reader", maxsize=10_000)
    track = Track(1, Codec.AAC, MediaKind.AUDIO)
    frames = [Frame(track, i, i, True, data=bytes(100)) for i in range(64)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                assert stream.bytes_out >= 0
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 0.5
    try:
        while time.monotonic() < deadline and not errors:
            for frame in frames:
                stream.put(frame)
            while sub.get_nowait() is not None:
                pass
    finally:
        stop.set()
        reader.join(5)
    assert not errors, errors
    assert stream.bytes_out == sub.bytes_out
