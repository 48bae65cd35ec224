"""The packets of a pcap or pcapng file, read as they arrive (a file, or a pipe from tcpdump).

dpkt parses every header and block (`dpkt.pcap.FileHdr`/`PktHdr`, `dpkt.pcapng`'s block
classes); this module only walks the file from block to block, which dpkt's own readers do with
two limits a capture of any origin must not have: they read a block of whatever length its
header claims (a corrupt length of 4 GiB is 4 GiB of memory), and `pcapng.Reader` takes the
first interface's link type and byte order for the whole file, while a pcapng file may hold
several sections (each with its byte order) and several interfaces (each with its link type and
timestamp resolution). Here a block longer than MAX_BLOCK is an error, and each packet carries
its own interface's link type.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1",  # microseconds, big- and little-endian
    b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1",  # nanoseconds
}  # fmt: skip
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
# The largest block read whole: a packet of the largest snap length tcpdump takes (262144) with
# room for options. Anything longer is a corrupt or hostile length field.
MAX_BLOCK = 256 * 1024 + 4096
_BLOCK_EPB, _BLOCK_PB, _BLOCK_SPB, _BLOCK_IDB = 6, 2, 3, 1
READ_AHEAD = 256 * 1024
_NANO = {b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"}


class CaptureFileError(Exception):
    """A file that starts as a capture but cannot be read on (a corrupt header or length)."""


# A packet: its time, its interface's link type, and its captured bytes (a view into the read
# buffer for pcap, valid until the next packet is asked for: copy what must be kept)
Packet = tuple[float, int, "bytes | memoryview"]


class Source:
    """Exact reads over a read1-style function, through a buffer of READ_AHEAD bytes (two
    small reads per packet would cost more than the packet's parse); counts what it handed
    out, and notes a short end."""

    def __init__(self, read: Callable[[int], bytes], first: bytes = b"") -> None:
        self._read = read
        self._buffer = first
        self._at = 0
        self.offset = 0
        self.truncated = False  # the file ended inside a block

    def read(self, size: int) -> bytes:
        if size > MAX_BLOCK:
            raise CaptureFileError(
                f"a block at byte {self.offset} claims {size} bytes; a capture's blocks are at"
                f" most {MAX_BLOCK} (a corrupt or hostile file)"
            )
        if self._at + size > len(self._buffer):
            self._fill(size)
        end = min(self._at + size, len(self._buffer))
        data = self._buffer[self._at : end]
        self._at = end
        self.offset += len(data)
        if 0 < len(data) < size:
            self.truncated = True
        return data

    def window(self) -> tuple[bytes, int]:
        """The buffered bytes and where the unread ones start in them."""
        return self._buffer, self._at

    def advance(self, at: int) -> None:
        """Mark the buffered bytes before `at` as read."""
        self.offset += at - self._at
        self._at = at

    def more(self, size: int) -> bool:
        """Buffer at least `size` unread bytes; False when the input ends before."""
        if self._at + size > len(self._buffer):
            self._fill(size)
        return len(self._buffer) - self._at >= size

    def _fill(self, size: int) -> None:
        """Read on until `size` bytes are buffered, or the input ends."""
        chunks = [self._buffer[self._at :]]
        have = len(chunks[0])
        while have < size:
            chunk = self._read(max(READ_AHEAD, size - have))
            if not chunk:
                break
            chunks.append(chunk)
            have += len(chunk)
        self._buffer, self._at = b"".join(chunks), 0


def is_capture_file(first: bytes) -> bool:
    return first[:4] in PCAP_MAGICS or first[:4] == PCAPNG_MAGIC


def read_packets(source: Source) -> Iterator[Packet]:
    """Every packet of a pcap or pcapng file, in file order (its magic read at once)."""
    magic = source.read(4)
    if magic == PCAPNG_MAGIC:
        return _pcapng(source)
    if magic in PCAP_MAGICS:
        return _pcap(source, magic)
    raise CaptureFileError("not a pcap or pcapng file")


def _pcap(source: Source, magic: bytes) -> Iterator[Packet]:
    from dpkt import pcap

    little = magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    rest = source.read(pcap.FileHdr.__hdr_len__ - 4)
    if len(rest) < pcap.FileHdr.__hdr_len__ - 4:
        source.truncated = True
        return
    header = (pcap.LEFileHdr if little else pcap.FileHdr)(magic + rest)
    packet_header = pcap.LEPktHdr if little else pcap.PktHdr
    # dpkt's own layout of a record header, unpacked by struct straight from the read buffer,
    # record after record: a dpkt object or a read per packet costs more than its decoding
    layout = struct.Struct(packet_header.__hdr_fmt__)
    unpack, size = layout.unpack_from, layout.size
    divisor = 1e9 if magic in _NANO else 1e6
    linktype = header.linktype
    need = size
    while source.more(need):
        buffer, at = source.window()
        view, end = memoryview(buffer), len(buffer)
        while at + size <= end:
            seconds, fraction, caplen, _ = unpack(buffer, at)
            if caplen > MAX_BLOCK:
                source.advance(at + size)
                source.read(caplen)  # raises: a hostile length
            stop = at + size + caplen
            if stop > end:
                need = size + caplen
                break
            yield seconds + fraction / divisor, linktype, view[at + size : stop]
            at = stop
        else:
            need = size
        source.advance(at)
    buffer, at = source.window()
    if at < len(buffer):  # the file ends inside a record
        source.truncated = True
        source.advance(len(buffer))


class _Interface:
    __slots__ = ("divisor", "linktype", "offset")

    def __init__(self, linktype: int, divisor: float, offset: int) -> None:
        self.linktype = linktype
        self.divisor = divisor
        self.offset = offset


def _pcapng(source: Source) -> Iterator[Packet]:
    from dpkt import pcapng

    length = source.read(4)
    while True:  # one section after another
        little = _section_byte_order(source, length)
        if little is None:
            return
        order = "<" if little else ">"
        interfaces: list[_Interface] = []
        # dpkt's layout of an Enhanced Packet Block after its type and length (interface,
        # time high and low, captured and original length), unpacked by struct: a dpkt
        # object per packet costs more than the rest of the packet's reading
        fields = "".join(field[1] for field in pcapng.EnhancedPacketBlock.__hdr__[2:7])
        epb = struct.Struct(order + fields)
        while True:
            yield from _packet_blocks(source, struct.Struct(order + "II"), epb, interfaces)
            head = source.read(8)
            if len(head) < 8:
                return
            block_type, length = struct.unpack(order + "II", head)
            if block_type == pcapng.PCAPNG_BT_SHB:
                length = head[4:]
                break
            if length < 12 or length % 4:
                raise CaptureFileError(
                    f"a block at byte {source.offset - 8} has the impossible length {length}"
                )
            body = source.read(length - 8)
            if len(body) < length - 8:
                return
            if block_type == _BLOCK_EPB and length >= 32:
                number, high, low, caplen, _ = epb.unpack_from(body)
                if number >= len(interfaces):
                    raise CaptureFileError(f"a packet of interface {number}, never described")
                interface = interfaces[number]
                when = interface.offset + ((high << 32) | low) / interface.divisor
                yield when, interface.linktype, memoryview(body)[20 : 20 + min(caplen, length - 32)]
                continue
            packet = _block(head + body, block_type, little, interfaces)
            if packet is not None:
                yield packet


def _packet_blocks(
    source: Source, head: struct.Struct, epb: struct.Struct, interfaces: list[_Interface]
) -> Iterator[Packet]:
    """The Enhanced Packet Blocks whole in the read buffer, one after another, read in place
    (their packets are views into the buffer); any other block is left to the caller. Only
    what is there is read: a pipe from `tcpdump -U` is never waited on for more."""
    source.more(32)
    buffer, at = source.window()
    view, end = memoryview(buffer), len(buffer)
    while at + 32 <= end:
        kind, length = head.unpack_from(buffer, at)
        if kind != _BLOCK_EPB or length < 32 or length % 4 or at + length > end:
            break
        number, high, low, caplen, _ = epb.unpack_from(buffer, at + 8)
        if number >= len(interfaces):
            break  # the caller says why
        interface = interfaces[number]
        when = interface.offset + ((high << 32) | low) / interface.divisor
        yield when, interface.linktype, view[at + 28 : at + 28 + min(caplen, length - 32)]
        at += length
    source.advance(at)


def _section_byte_order(source: Source, length_field: bytes) -> bool | None:
    """Read a Section Header Block (its type and length field already read), and say if it is
    little-endian; None at the end of the file."""
    rest = length_field + source.read(4)  # the length, then the byte-order magic
    if len(rest) < 8:
        return None
    little = rest[4:8] == b"\x4d\x3c\x2b\x1a"
    if not little and rest[4:8] != b"\x1a\x2b\x3c\x4d":
        raise CaptureFileError("a pcapng section header with no byte-order magic")
    length = struct.unpack("<I" if little else ">I", rest[:4])[0]
    if length < 28 or length % 4:
        raise CaptureFileError(f"a pcapng section header with the impossible length {length}")
    source.read(length - 12)
    return little


def _block(block: bytes, kind: int, little: bool, interfaces: list[_Interface]) -> Packet | None:
    import dpkt
    from dpkt import pcapng as ng

    try:
        if kind == _BLOCK_IDB:
            idb = (ng.InterfaceDescriptionBlockLE if little else ng.InterfaceDescriptionBlock)(
                block
            )
            interfaces.append(_interface(idb, little))
        elif kind in (_BLOCK_EPB, _BLOCK_PB):
            if kind == _BLOCK_EPB:
                epb = (ng.EnhancedPacketBlockLE if little else ng.EnhancedPacketBlock)(block)
            else:
                epb = (ng.PacketBlockLE if little else ng.PacketBlock)(block)
            if epb.iface_id >= len(interfaces):
                raise CaptureFileError(f"a packet of interface {epb.iface_id}, never described")
            interface = interfaces[epb.iface_id]
            when = interface.offset + ((epb.ts_high << 32) | epb.ts_low) / interface.divisor
            return when, interface.linktype, epb.pkt_data
    except (dpkt.UnpackError, struct.error) as error:
        raise CaptureFileError(f"a corrupt pcapng block: {error}") from None
    return None


def _interface(idb: object, little: bool) -> _Interface:
    divisor, offset = 1e6, 0
    for option in getattr(idb, "opts", []):
        if option.code == 9 and option.data:  # if_tsresol
            value = option.data[0]
            divisor = float((2 if value & 0x80 else 10) ** (value & 0x7F))
        elif option.code == 14 and len(option.data) == 8:  # if_tsoffset
            offset = struct.unpack("<q" if little else ">q", option.data)[0]
    return _Interface(getattr(idb, "linktype", 0), divisor, offset)
