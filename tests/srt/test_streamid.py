"""Stream id forms (Haivision/srt access-control.md) → name, mode and arguments."""

from __future__ import annotations

import pytest

from headwater_srt.wire.streamid import StreamIdError, parse_stream_id

CASES = [
    (None, "", "publish", {}),
    ("", "", "publish", {}),
    ("#!::r=live/cam1,m=publish", "live/cam1", "publish", {}),
    ("#!::m=publish,r=live/cam1", "live/cam1", "publish", {}),
    ("#!::r=live/cam1", "live/cam1", "publish", {}),
    ("#!::u=live/author,m=publish", "live/author", "publish", {"user": "live/author"}),
    ("#!::r=a/b,u=john,password=pw", "a/b", "publish", {"user": "john", "password": "pw"}),
    ("#!::r=live/x,m=request", "live/x", "request", {}),
    ("publish:live/cam2", "live/cam2", "publish", {}),
    ("publish:live/cam2?password=pw", "live/cam2", "publish", {"password": "pw"}),
    ("play:live/cam2", "live/cam2", "request", {}),
    ("live/cam3", "live/cam3", "publish", {}),
    ("/live/cam3/", "live/cam3", "publish", {}),
    ("live/cam3?password=x&token=y", "live/cam3", "publish", {"password": "x", "token": "y"}),
]


@pytest.mark.parametrize(("text", "name", "mode", "args"), CASES)
def test_stream_id_forms(text, name, mode, args) -> None:
    sid = parse_stream_id(text)
    assert (sid.name, sid.mode, sid.args) == (name, mode, args)


@pytest.mark.parametrize("text", ["#!::r", "#!::=x", "#!:{r=x}", "#!::{r=x}", "#!x"])
def test_malformed_access_control_ids(text) -> None:
    with pytest.raises(StreamIdError):
        parse_stream_id(text)
