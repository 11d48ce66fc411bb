"""The config backend's ``srt_port_resolve`` (DESIGN §6): name by port, refusals otherwise."""

from __future__ import annotations

import httpx
import pytest

from headwater import PublishRejected, PublishRequest, Refusal, backend_url
from headwater_srt.port_resolver import PortResolver

pytestmark = pytest.mark.anyio


def request(port: int = 2345) -> PublishRequest:
    return PublishRequest(proto="srt", peer=("10.1.2.3", 5555), local_port=port)


@pytest.mark.parametrize(
    "base",
    ["http://b:1/config_backend/", "http://b:1/config_backend", "http://b:1/config_backend//"],
)
def test_one_slash_between_base_and_path(base) -> None:
    assert backend_url(base, "srt_port_resolve/7") == "http://b:1/config_backend/srt_port_resolve/7"


async def test_backend_names_the_port() -> None:
    seen = []

    def answer(req: httpx.Request) -> httpx.Response:
        seen.append(str(req.url))
        return httpx.Response(200, text="author_one\n")

    resolver = PortResolver(
        lambda: "http://b:1/config_backend/", transport=httpx.MockTransport(answer)
    )
    assert await resolver.resolve(request()) == "author_one"
    assert seen == ["http://b:1/config_backend/srt_port_resolve/2345?mode=publish&host=10.1.2.3"]


@pytest.mark.parametrize(
    ("status", "text", "words"),
    [(404, "no", "HTTP 404"), (500, "", "HTTP 500"), (200, "  ", "empty name")],
)
async def test_refusals(status, text, words) -> None:
    transport = httpx.MockTransport(lambda req: httpx.Response(status, text=text))
    resolver = PortResolver(lambda: "http://b:1/", transport=transport)
    with pytest.raises(PublishRejected) as info:
        await resolver.resolve(request())
    assert info.value.refusal == Refusal.NOT_FOUND and words in info.value.reason


async def test_unreachable_backend_and_no_backend_refuse() -> None:
    def fail(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    resolver = PortResolver(lambda: "http://b:1/", transport=httpx.MockTransport(fail))
    with pytest.raises(PublishRejected, match="did not resolve SRT port 2345"):
        await resolver.resolve(request())
    with pytest.raises(PublishRejected, match="no config backend"):
        await PortResolver(lambda: None).resolve(request())
