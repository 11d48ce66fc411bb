"""The SRT sockets' kernel receive buffer: asked big, set past ``net.core.rmem_max``
where the process may, and a clear sentence for the operator when the kernel gives less."""

from __future__ import annotations

import sys

import pytest

from headwater_srt import udp_socket as server


def test_a_socket_gets_the_buffer_or_the_operator_is_told() -> None:
    sock = server.bind_udp("127.0.0.1", 0)
    try:
        problem = server.receive_buffer_shortfall(sock)
        if problem is None:  # the kernel allows it, or the process may set it past the cap
            doubled = 2 if sys.platform.startswith("linux") else 1
            assert server.receive_buffer(sock) >= doubled * server.RECV_BUFFER
        else:
            assert "sysctl -w net.core.rmem_max=" in problem
    finally:
        sock.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's rmem_max")
def test_a_capped_buffer_names_the_sysctl(monkeypatch: pytest.MonkeyPatch) -> None:
    with open("/proc/sys/net/core/rmem_max") as f:
        cap = int(f.read())
    if 4 * cap >= 1 << 30:
        pytest.skip("rmem_max too large to ask beyond")
    monkeypatch.setattr(server, "RECV_BUFFER", 4 * cap)  # beyond the cap ...
    monkeypatch.setattr(server, "SO_RCVBUFFORCE", None)  # ... and no way past it
    sock = server.bind_udp("127.0.0.1", 0)
    try:
        problem = server.receive_buffer_shortfall(sock)
    finally:
        sock.close()
    assert problem is not None
    assert f"sysctl -w net.core.rmem_max={4 * cap}" in problem
    assert f"{cap / 1e6:.1f} MB where" in problem
