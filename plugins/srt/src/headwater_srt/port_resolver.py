"""Stream names for SRT port ranges from the config backend (DESIGN §6; Flussonic's "SRT
publishing from many authors").

A publication on port P of a ``mode = "publish"`` port range, without a name in its stream
id, is named by ``GET {config_external}/srt_port_resolve/P?mode=publish&host=<client>``:
a 200 answer's text is the name; any other status, a timeout or an unreachable backend
refuses the publication.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from headwater import PublishRejected, PublishRequest, Refusal, backend_url

log = logging.getLogger("headwater.srt")


class PortResolver:
    """Names publications on a set of ports by asking the config backend."""

    def __init__(
        self,
        base_url: Callable[[], str | None],
        timeout: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """:param base_url: returns the current ``config_external`` (it may change at run
        time through the API), or None when there is none.
        :param transport: an httpx transport (tests use ``httpx.MockTransport``)."""
        self.base_url = base_url
        self.timeout = timeout
        self.transport = transport

    async def resolve(self, request: PublishRequest) -> str:
        """Ask the backend for the name of ``request``'s port.

        :raises PublishRejected: ``NOT_FOUND`` when the backend does not know the port or
            cannot be asked.
        """
        port = request.local_port
        base = self.base_url()
        if not base:
            raise PublishRejected(
                Refusal.NOT_FOUND,
                f"SRT port {port} has no stream id name and no config backend to resolve it",
            )
        url = backend_url(base, f"srt_port_resolve/{port}")
        params = {"mode": "publish", "host": request.ip}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise PublishRejected(
                Refusal.NOT_FOUND, f"config backend did not resolve SRT port {port}: {exc!r}"
            ) from exc
        if response.status_code != 200:
            raise PublishRejected(
                Refusal.NOT_FOUND,
                f"config backend refused SRT port {port} (HTTP {response.status_code})",
            )
        name = response.text.strip().strip("'\"").strip("/")
        if not name:
            raise PublishRejected(
                Refusal.NOT_FOUND, f"config backend gave an empty name for SRT port {port}"
            )
        return name


class FixedName:
    """Names every publication on a listener's port with one stream name: Flussonic's
    ``srt PORT;`` inside a stream (``listeners.srt`` entry with ``stream = NAME``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def resolve(self, request: PublishRequest) -> str:
        """The configured name, whoever calls."""
        return self.name
