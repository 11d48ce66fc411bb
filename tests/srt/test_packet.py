"""Packet header codec (draft-sharabayko-srt §3): round trips, flags, wrap limits."""

from __future__ import annotations

import pytest

from headwater import ProtocolError
from headwater_srt.wire.control import (
    Ack,
    decode_loss_list,
    encode_loss_list,
    parse_dropreq,
)
from headwater_srt.wire.packet import (
    ControlPacket,
    ControlType,
    DataPacket,
    KeySpec,
    PacketPosition,
    parse_packet,
)
from headwater_srt.wire.seq import (
    MSGNO_MAX,
    SEQ_MAX,
    TimestampUnwrapper,
    msgno_add,
    seq_add,
    seq_diff,
)

DATA_CASES = [
    # (packet, exact header bytes)
    (
        DataPacket(1, 1, 0, 0x11223344, b"x", position=PacketPosition.SOLO),
        bytes.fromhex("00000001 c0000001 00000000 11223344"),
    ),
    (
        DataPacket(SEQ_MAX, MSGNO_MAX, 0xFFFFFFFF, 7, b"", key=KeySpec.ODD, retransmitted=True),
        bytes.fromhex("7fffffff d7ffffff ffffffff 00000007"),
    ),
    (
        DataPacket(
            5, 2, 3, 4, b"ab", position=PacketPosition.FIRST, in_order=True, key=KeySpec.EVEN
        ),
        bytes.fromhex("00000005 a8000002 00000003 00000004"),
    ),
]


@pytest.mark.parametrize(("packet", "header"), DATA_CASES)
def test_data_packet_round_trip(packet: DataPacket, header: bytes) -> None:
    raw = packet.encode()
    assert raw[:16] == header
    parsed = parse_packet(raw)
    assert isinstance(parsed, DataPacket)
    assert bytes(parsed.payload) == bytes(packet.payload)
    parsed.payload = packet.payload
    assert parsed == packet


def test_control_packet_round_trip() -> None:
    pkt = ControlPacket(ControlType.USER, 99, 42, type_info=7, subtype=3, cif=b"abcd")
    raw = pkt.encode()
    assert raw[:4] == bytes.fromhex("ffff0003")
    parsed = parse_packet(raw)
    assert isinstance(parsed, ControlPacket)
    assert (parsed.type, parsed.subtype, parsed.type_info, parsed.timestamp) == (0x7FFF, 3, 7, 99)
    assert bytes(parsed.cif) == b"abcd"


@pytest.mark.parametrize("size", range(16))
def test_short_datagram_is_a_protocol_error(size: int) -> None:
    with pytest.raises(ProtocolError):
        parse_packet(b"\x80" * size)


def test_sequence_arithmetic_wraps() -> None:
    assert seq_add(SEQ_MAX, 1) == 0
    assert seq_add(0, -1) == SEQ_MAX
    assert seq_diff(0, SEQ_MAX) == 1
    assert seq_diff(SEQ_MAX, 0) == -1
    assert seq_diff(5, 3) == 2
    assert msgno_add(MSGNO_MAX, 1) == 1


def test_timestamp_unwrapper_crosses_the_wrap() -> None:
    u = TimestampUnwrapper()
    assert u.extend(0xFFFF_FF00) == 0xFFFF_FF00
    assert u.extend(0x0000_0010) == 0x1_0000_0010
    # a late retransmission from before the wrap keeps the old epoch
    assert u.extend(0xFFFF_FF80) == 0xFFFF_FF80
    assert u.extend(0x0000_0020) == 0x1_0000_0020


LOSS_CASES = [
    ([(5, 5)], "00000005"),
    ([(5, 9)], "80000005 00000009"),
    ([(1, 1), (3, 4), (10, 10)], "00000001 80000003 00000004 0000000a"),
    ([(SEQ_MAX - 1, 2)], "fffffffe 00000002"),  # a range across the wrap
]


@pytest.mark.parametrize(("ranges", "hexwords"), LOSS_CASES)
def test_loss_list_coding(ranges: list[tuple[int, int]], hexwords: str) -> None:
    raw = encode_loss_list(ranges)
    assert raw == bytes.fromhex(hexwords)
    assert decode_loss_list(raw) == ranges


@pytest.mark.parametrize(
    "hexwords",
    ["80000005", "80000005 80000006", "80000009 00000005", "000000"],
    ids=["range-without-end", "end-with-range-bit", "backwards", "partial-word"],
)
def test_bad_loss_lists(hexwords: str) -> None:
    with pytest.raises(ProtocolError):
        decode_loss_list(bytes.fromhex(hexwords))


def test_ack_forms() -> None:
    full = Ack(10, 100, 50, 8000, 300, 300, 400_000)
    assert len(full.cif()) == 28
    assert Ack.parse(full.cif()) == full
    light = Ack(11, light=True)
    assert light.cif() == bytes.fromhex("0000000b")
    assert Ack.parse(light.cif()) == light
    small = Ack.parse(bytes.fromhex("0000000c 00000001 00000002 00000003"))
    assert (small.last_seq, small.rtt, small.rtt_var, small.available_buffer) == (12, 1, 2, 3)
    with pytest.raises(ProtocolError):
        Ack.parse(b"\0\0")


def test_ack_packets_from_fields_equal_ack_objects() -> None:
    """The timer path encodes ACKs from their fields; the bytes are the Ack object's."""
    from headwater_srt.wire.control import ack_packet, full_ack_packet, light_ack_packet

    full = ack_packet(Ack(0x7FFF_FFFF, 100, 50, 8000, 300, 300, 400_000), 7, 123, 99)
    assert full_ack_packet(0x7FFF_FFFF, 7, 123, 99, 100, 50, 8000, 300, 400_000) == full
    assert parse_packet(full).cif == Ack(0x7FFF_FFFF, 100, 50, 8000, 300, 300, 400_000).cif()
    light = ack_packet(Ack(11, light=True), 0, 5, 6)
    assert light_ack_packet(11, 5, 6) == light


def test_dropreq() -> None:
    assert parse_dropreq(bytes.fromhex("00000003 00000007")) == (3, 7)
    with pytest.raises(ProtocolError):
        parse_dropreq(b"\0" * 4)
