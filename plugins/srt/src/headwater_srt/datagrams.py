"""Reading many UDP datagrams per system call: ``recvmmsg(2)`` through :mod:`ctypes`.

The standard library reads one datagram per call (``recvfrom``), and each call makes a
``bytes``, an address tuple and its ``str``: about 3 µs a datagram on loopback, a tenth
of what a busy SRT port spends per packet. :class:`DatagramReader` fills up to
:data:`BATCH` preallocated rows of one buffer per call instead, with the lengths and
the senders' raw ``sockaddr_in`` in arrays of their own; numpy views read every row's
length, destination socket id (the SRT header's fourth word) and sender at once, and the
caller makes one ``bytes`` per datagram by slicing the rows (about 1.6 µs a datagram in
all). Linux and IPv4 only (:func:`batch_reader`); elsewhere the transport keeps reading
with ``recvfrom``.

A sender is named by a 64-bit key, the first eight bytes of its ``sockaddr_in`` (family,
port, address: :func:`peer_key`), so that checking the sender of a datagram of an
established connection is one integer comparison.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

BATCH = 64
"""Most datagrams one call reads."""
SLOT = 2048
"""Bytes per row: SRT packets fit the negotiated MTU (1500 at most); a longer datagram
is cut to this, as ``recvfrom(2048)`` cuts it."""
_NAME = 16
"""Bytes of a ``sockaddr_in``."""
_MSG_DONTWAIT = 0x40
_ADDRESS = struct.Struct("!H4s")
"""Port and address of a ``sockaddr_in`` (after its native-order family)."""


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.c_void_p),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint32)]


def _load_recvmmsg() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.recvmmsg
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_recvmmsg = _load_recvmmsg()


def peer_key(address: tuple[str, int]) -> int:
    """The key :class:`DatagramReader` gives datagrams from the IPv4 ``address``: the
    first eight bytes of its ``sockaddr_in`` as a native 64-bit integer."""
    host, port = address
    raw = struct.pack("=H", socket.AF_INET) + _ADDRESS.pack(port, socket.inet_aton(host))
    return int.from_bytes(raw, sys.byteorder)


class DatagramReader:
    """``recvmmsg`` on one non-blocking IPv4 UDP socket into preallocated rows.

    After :meth:`read` returned ``k``, datagram ``i < k`` is ``rows[i * SLOT : i * SLOT +
    lengths[i]]`` (a ``bytes`` slice of the ctypes buffer), ``dests[i]`` is its fourth
    header word (meaningful when it is at least 16 bytes long), ``peers[i]`` its sender's
    :func:`peer_key` and :meth:`address` its sender as ``(host, port)``. The next
    :meth:`read` overwrites them all."""

    def __init__(self, fd: int, count: int = BATCH) -> None:
        self.fd = fd
        self.count = count
        self.rows: Any = (ctypes.c_char * (count * SLOT))()
        self._names = (ctypes.c_char * (count * _NAME))()
        self._iovecs = (_Iovec * count)()
        self._headers = (_Mmsghdr * count)()
        rows, names = ctypes.addressof(self.rows), ctypes.addressof(self._names)
        for i in range(count):
            self._iovecs[i].base = rows + i * SLOT
            self._iovecs[i].len = SLOT
            hdr = self._headers[i].hdr
            hdr.name = names + i * _NAME
            hdr.iov = ctypes.addressof(self._iovecs[i])
            hdr.iovlen = 1
        self._address = ctypes.addressof(self._headers)
        size = ctypes.sizeof(_Mmsghdr)
        self.lengths = np.ndarray((count,), np.uint32, self._headers, _Mmsghdr.len.offset, (size,))
        """Each row's datagram length (the ``msg_len`` fields, in place)."""
        self.dests = np.ndarray((count,), ">u4", self.rows, 12, (SLOT,))
        """Each row's fourth big-endian header word: an SRT packet's destination socket id."""
        self.peers = np.ndarray((count,), np.uint64, self._names, 0, (_NAME,))
        """Each row's sender as its :func:`peer_key`."""
        self._namelens = np.ndarray(
            (count,), np.uint32, self._headers, _Mmsghdr.hdr.offset + _Msghdr.namelen.offset,
            (size,),
        )  # fmt: skip

    def read(self) -> int:
        """Read what is queued (at most :attr:`count` datagrams); return how many, 0 when
        none is.

        :raises OSError: for errors other than an empty queue (e.g. an ICMP "port
            unreachable" a vanished peer left on the socket; the next call goes on).
        """
        assert _recvmmsg is not None
        self._namelens.fill(_NAME)  # the kernel sets each to the size it wrote
        got = _recvmmsg(self.fd, self._address, self.count, _MSG_DONTWAIT, None)
        if got >= 0:
            return got
        code = ctypes.get_errno()
        if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
            return 0
        raise OSError(code, f"recvmmsg: {errno.errorcode.get(code, code)}")

    def address(self, i: int) -> tuple[str, int]:
        """The sender of row ``i`` as ``(host, port)``."""
        port, ip = _ADDRESS.unpack_from(self._names, i * _NAME + 2)
        return socket.inet_ntoa(ip), port


def batch_reader(sock: socket.socket) -> DatagramReader | None:
    """A :class:`DatagramReader` for ``sock`` where ``recvmmsg`` is there (Linux) and the
    socket is IPv4, else None (read with ``recvfrom``)."""
    if _recvmmsg is None or sock.family != socket.AF_INET or sock.type != socket.SOCK_DGRAM:
        return None
    return DatagramReader(sock.fileno())
