"""Hostile HTTP clients against the real server (issue 13): slowloris and idle connections,
connection floods, unauthenticated and oversized API bodies, garbage and silent MPEG-TS."""

from __future__ import annotations

import base64
import os
import random

import anyio
import httpx
import pytest
from attacks import Usage, closed_within, good_publisher, lines, quiet_info

from headwater.testing import running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

FAST = {"limits": {"header_timeout": 1, "keepalive_timeout": 1, "message_timeout": 2}}
ATTACKER = "127.0.0.2"
"""Attackers connect from another loopback address, so per-address limits tell them apart."""


async def connect(port: int, local: str = ATTACKER):
    return await anyio.connect_tcp("127.0.0.1", port, local_host=local)


async def test_regression_slowloris_headers_are_cut_at_the_header_timeout(caplog):
    quiet_info(caplog)
    async with running_server(FAST, protocols=("http",)) as hw:
        port = hw.port("http")
        sock = await connect(port)
        request = b"GET /streamer/api/v3/monitoring/liveness HTTP/1.1\r\nHost: x\r\nX-A: "

        async def trickle() -> None:
            for byte in request + b"a" * 1000:
                await sock.send(bytes((byte,)))
                await anyio.sleep(0.1)

        async with anyio.create_task_group() as tg:
            tg.start_soon(trickle)
            took = await closed_within(sock, 5)
            tg.cancel_scope.cancel()
        assert took is not None and took < 1 + 1.5  # deadline + margin
        silent = await connect(port)  # a connection that never sends a byte
        assert (await closed_within(silent, 5) or 99) < 1 + 1.5
        found = lines(caplog, "closed: request headers not complete within 1s")
        assert len(found) == 2 and all(f.startswith(f"http {ATTACKER}:") for f in found)


async def test_an_idle_keepalive_connection_is_closed():
    async with running_server(FAST, protocols=("http",)) as hw:
        sock = await connect(hw.port("http"))
        await sock.send(b"GET /streamer/api/v3/monitoring/liveness HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await sock.receive()).startswith(b"HTTP/1.1 200")
        took = await closed_within(sock, 5)
        assert took is not None and took < 1 + 1.5  # deadline + margin


async def test_regression_connection_flood_is_refused_and_the_api_keeps_answering(
    test_media, caplog
):
    """Issue 13 attack 2, scaled down: more slow connections than the server allows. The
    extra ones get 503 at once (logged, counted); the API from another address and the
    publisher already connected carry on; the flood is reaped at the header timeout."""
    clip = test_media("h264", "aac", "flv", seconds=4)
    config = {"limits": {**FAST["limits"], "max_connections_per_ip": 20, "header_timeout": 4}}
    async with running_server(config, protocols=("http", "rtmp")) as hw:
        port = hw.port("http")
        api = hw.http_url("streamer/api/v3/monitoring/liveness")
        async with good_publisher(hw.server, hw.url("rtmp", "live/good"), "live/good", clip):
            flood = [await connect(port) for _ in range(30)]
            refused = 0
            for sock in flood[20:]:
                with anyio.fail_after(2):
                    answer = await sock.receive()
                assert answer.startswith(b"HTTP/1.1 503")
                refused += 1
            async with httpx.AsyncClient() as client:
                assert (await client.get(api)).status_code == 200
            # the open-files reserve: the whole server may hold no more than it leaves free
            files = hw.server.connection_limits.files
            with anyio.fail_after(2):  # the API client's connection is gone on our side too
                while hw.server.connection_limits.gate("http").open > 20:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            files.open_files = files.open + int(hw.server.settings.limits.reserved_fds) + 2
            extra = [await connect(port, "127.0.0.3") for _ in range(4)]
            answers: list[bytes] = []

            async def first_bytes(sock) -> None:
                try:
                    with anyio.fail_after(1):
                        answers.append(await sock.receive())
                except (TimeoutError, anyio.EndOfStream):
                    answers.append(b"")  # admitted: it waits for its headers

            async with anyio.create_task_group() as tg:
                for sock in extra:
                    tg.start_soon(first_bytes, sock)
            assert sum(a.startswith(b"HTTP/1.1 503") for a in answers) == 2
            files.open_files = 1 << 20
            for sock in flood + extra:
                await closed_within(sock, 5)
                await sock.aclose()
        stats = hw.server.connection_limits.stats()["http"]
        assert stats["refused"] == refused + 2 and stats["open"] == 0
        async with httpx.AsyncClient() as client:
            text = (await client.get(hw.http_url("metrics"))).text
        assert f'headwater_connections_refused_total{{listener="http"}} {refused + 2}.0' in text
    assert lines(caplog, "refused: the limit of 20 connections per address is reached")
    assert lines(caplog, "use the open-files limit")


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


AUTH = {"edit_auth": {"login": "admin", "password": "secret"}}


async def raw_put(port: int, headers: str, body_size: int) -> bytes:
    """PUT /config announcing ``body_size`` bytes and sending as much as the server takes;
    return its answer."""
    sock = await connect(port)
    head = (
        f"PUT /streamer/api/v3/config HTTP/1.1\r\nHost: x\r\n{headers}"
        f"Content-Type: application/json\r\nContent-Length: {body_size}\r\n\r\n"
    )
    await sock.send(head.encode())
    answer = b""
    block = b"x" * 65536

    async def push() -> None:
        try:
            for _ in range(body_size // len(block)):
                await sock.send(block)
        except (anyio.BrokenResourceError, ConnectionError, OSError):
            pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(push)
        try:
            with anyio.fail_after(5):
                while chunk := await sock.receive():
                    answer += chunk
        except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError, OSError):
            pass
        tg.cancel_scope.cancel()
    await sock.aclose()
    return answer


async def test_regression_unauthenticated_bodies_are_refused_before_they_are_read(caplog):
    """Issue 13 attack 4: ten concurrent unauthenticated 50 MiB PUTs took the server to 1 GB
    and a core for 4 s. Now each gets 401 from its headers and the body is never read."""
    quiet_info(caplog)
    async with running_server(AUTH, protocols=("http",)) as hw:
        port = hw.port("http")
        usage = Usage()
        answers: list[bytes] = []

        async def one() -> None:
            answers.append(await raw_put(port, "", 50 << 20))

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
        cpu, rss = usage.since()
        assert len(answers) == 10
        # each answered 401 (a client still sending may see the close reset the connection
        # before it reads the answer: the server's log line is the proof then)
        assert all(a.startswith(b"HTTP/1.1 401") or a == b"" for a in answers), answers
        assert any(a.startswith(b"HTTP/1.1 401") for a in answers)
        assert len(lines(caplog, "refused (401) before reading its body")) == 10
        assert rss < 40 << 20, f"RSS grew {rss >> 20} MiB"
        assert cpu < 2.0, f"{cpu:.2f} CPU-s"


async def test_api_bodies_are_capped_and_errors_have_the_documented_shape(caplog):
    quiet_info(caplog)
    config = {**AUTH, "limits": {"max_body_size": 100_000}}
    async with running_server(config, protocols=("http",)) as hw:
        url = hw.http_url("streamer/api/v3/config")
        good = {"authorization": basic("admin", "secret")}
        async with httpx.AsyncClient() as client:
            # credentials first: a non-JSON body without them is 401, not a parse error
            r = await client.put(url, content=b"not json")
            assert r.status_code == 401
            r = await client.put(url, content=b"not json", headers=good)
            assert r.status_code == 400
            errors = r.json()["detail"]["errors"]
            assert errors and set(errors[0]) == {"path", "message"}
            r = await client.get(hw.http_url("streamer/api/v3/streams?limit=many"))
            assert r.status_code == 422  # FastAPI's own refusals have the same shape
            assert r.json()["detail"]["errors"][0]["path"] == "query.limit"
            r = await client.put(url, content=b"x" * 100_001, headers=good)
            assert r.status_code == 413 and "100000 bytes" in r.json()["detail"]

            async def chunked():
                for _ in range(20):
                    yield os.urandom(10_000)

            try:  # the server answers 413 and closes while the client still sends
                r = await client.put(url, content=chunked(), headers=good)
                assert r.status_code == 413
            except httpx.TransportError:
                pass  # ... which may reset the connection before the client reads the answer
            assert lines(caplog, "PUT '/streamer/api/v3/config' refused (413): body over 100000")
            r = await client.put(url, json={"limits": {"max_streams": 5}}, headers=good)
            assert r.status_code == 200 and r.json()["limits"]["max_streams"] == 5


async def test_a_body_that_does_not_arrive_in_time_gets_408(caplog):
    quiet_info(caplog)
    async with running_server({**AUTH, **FAST}, protocols=("http",)) as hw:
        sock = await connect(hw.port("http"))
        head = (
            "PUT /streamer/api/v3/config HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {basic('admin', 'secret')}\r\nContent-Length: 100\r\n\r\n{{"
        )
        await sock.send(head.encode())
        with anyio.fail_after(5):
            answer = await sock.receive()
        assert answer.startswith(b"HTTP/1.1 408")
        await sock.aclose()
    assert lines(caplog, "closed: request body not complete within 2s")


async def test_regression_garbage_mpegts_is_refused_and_holds_no_name(caplog):
    async with running_server(FAST, protocols=("http",)) as hw:
        url = hw.http_url("live/junk/mpegts")
        async with httpx.AsyncClient() as client:
            garbage = random.Random(7).randbytes((1 << 20) + 4096)
            r = await client.post(url, content=garbage)
        assert r.status_code == 400 and "no MPEG-TS packets" in r.text
        assert hw.server.streams.get("live/junk") is None
    assert lines(caplog, "refused mpegts publish from 127.0.0.1 ('live/junk')")


async def test_regression_a_silent_body_never_holds_the_name(test_media):
    """A bogus Content-Length used to hold a name for 20 s; now a body claims its name only
    once it shows MPEG-TS, so a real publisher takes the name meanwhile."""
    clip = test_media("h264", "aac", "ts", seconds=2)
    async with running_server(FAST, protocols=("http",)) as hw:
        sock = await connect(hw.port("http"))
        await sock.send(
            b"POST /live/cam/mpegts HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"
        )
        await anyio.sleep(0.3)
        assert hw.server.streams.get("live/cam") is None
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(hw.http_url("live/cam/mpegts"), content=clip.read_bytes())
        assert r.status_code == 200, r.text
        with anyio.fail_after(5):
            answer = await sock.receive()
        assert answer.startswith(b"HTTP/1.1 408")
        await sock.aclose()


async def test_the_http_servers_own_warnings_name_the_peer(caplog):
    """uvicorn's lines go through headwater's logging with the client's address."""
    async with running_server(FAST, protocols=("http",)) as hw:
        sock = await connect(hw.port("http"))
        await sock.send(b"NOT\x00HTTP\r\n\r\n")
        with anyio.fail_after(5):
            answer = await sock.receive()
        assert answer.startswith(b"HTTP/1.1 400")
        await sock.aclose()
    found = [r for r in caplog.records if r.name == "uvicorn.error"]
    assert found and found[0].getMessage().startswith(f"http {ATTACKER}:")
    assert "Invalid HTTP request" in found[0].getMessage()


async def test_regression_an_oversized_head_gets_431_and_a_log_line(caplog):
    """llhttp bounds no head: the protocol closes one past 16 KiB with 431, logged."""
    quiet_info(caplog)
    async with running_server(FAST, protocols=("http",)) as hw:
        sock = await connect(hw.port("http"))
        await sock.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20_000)
        with anyio.fail_after(5):
            answer = await sock.receive()
        assert answer.startswith(b"HTTP/1.1 431")
        assert await closed_within(sock, 5) is not None
        await sock.aclose()
    found = lines(caplog, "closed: request line and headers larger than 16384 bytes")
    assert len(found) == 1 and found[0].startswith(f"http {ATTACKER}:")
