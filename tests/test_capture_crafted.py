"""`inspect` of pcap/pcapng files crafted with dpkt: what a live capture cannot produce on
demand (reordering, retransmission, overlap, a lost segment, a cut head, a snap length), every
link type and file variant, and hostile files. tshark, an independent reader, agrees on what
each file holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dpkt
import pytest

from tests.captures import (
    REQUEST,
    RESPONSE,
    Conversation,
    close_frame,
    frame,
    lazily,
    null_loopback,
    pcapng_section,
    raw_ip,
    sll,
    sll2,
    tshark_handshakes,
    vlan,
    write_pcap,
)
from tests.helpers import invoke


def records(path: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = invoke("inspect", "--format", "json", *args, str(path))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def only(path: Path) -> dict[str, Any]:
    _code, found, _ = records(path)
    assert len(found) == 1, found
    return found[0]


def findings(record: dict[str, Any], status: str | None = None) -> dict[str, str]:
    return {
        f["rule"]: f["message"]
        for f in record["findings"]
        if status is None or f["status"] == status
    }


def test_a_whole_connection_has_its_report_and_connection(tmp_path: Path) -> None:
    talk = Conversation().websocket()
    path = write_pcap(tmp_path / "ws.pcap", talk.frames)
    code, found, stderr = records(path)
    assert (code, stderr, len(found)) == (0, "", 1)
    record = found[0]
    assert (record["status"], record["verdict"]) == (101, "pass")
    assert record["source"] == "TCP 10.0.0.1:40000 -> 10.0.0.2:8080"
    assert record["connection"] == {
        "client": {"address": "10.0.0.1", "port": 40000},
        "server": {"address": "10.0.0.2", "port": 8080},
        "started_at": "2023-11-14T22:13:20.004000Z",
        "handshake_ms": 1.0,
        "frames": {
            "client": {
                "continuation": 0,
                "text": 1,
                "binary": 0,
                "close": 1,
                "ping": 0,
                "pong": 0,
                "bytes": 10,
            },
            "server": {
                "continuation": 0,
                "text": 1,
                "binary": 0,
                "close": 1,
                "ping": 0,
                "pong": 0,
                "bytes": 7,
            },
        },
        "deflate": {"negotiated": False, "used": False},
        "masking": {"client": "ok", "server": "ok"},
        "close": {
            "client": {"code": 1000, "reason": "bye"},
            "server": {"code": 1000, "reason": ""},
            "first": "client",
            "ended": "close",
        },
        "gaps": {"client": 0, "server": 0},
        "tls": None,
    }
    assert tshark_handshakes(path) == [(40000, 8080, "101")]


def test_plain_output_adds_a_connection_line(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "ws.pcap", Conversation().websocket().frames)
    result = invoke("inspect", "--format", "plain", str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith(
        "handshake 1: TCP 10.0.0.1:40000 -> 10.0.0.2:8080: pass"
    )
    assert result.stdout.splitlines()[-1] == (
        "  connection: 2023-11-14T22:13:20.004000Z, 10.0.0.1:40000 -> 10.0.0.2:8080, 1.0 ms,"
        " client 1 msg 10 B, server 1 msg 7 B, ended close, client closed first"
    )


def reordered(conversation: Conversation, data: bytes, order: list[int], size: int = 20) -> None:
    packets = conversation.segments("client", data, size)
    for index in order:
        conversation.add(packets[index])


def test_reordered_retransmitted_and_overlapping_segments_are_read_in_order(
    tmp_path: Path,
) -> None:
    talk = Conversation().handshake()
    packets = talk.segments("client", REQUEST, 30)
    for index in [0, 2, 1, 1, 4, 3, 0, *range(5, len(packets))]:
        talk.add(packets[index])
    # an overlap: a segment resent with 10 more bytes than before, after the rest
    overlap = talk.packet("client", dpkt.tcp.TH_ACK, REQUEST[30:90], seq=1001 + 30)
    talk.add(overlap)
    talk.send("server", RESPONSE, 50).fin("client").fin("server")
    record = only(write_pcap(tmp_path / "reordered.pcap", talk.frames))
    assert (record["status"], record["verdict"]) == (101, "pass")
    assert record["connection"]["gaps"] == {"client": 0, "server": 0}
    assert record["connection"]["close"]["ended"] == "fin"


def test_a_lost_segment_in_the_request_is_a_gap_and_a_warning(tmp_path: Path) -> None:
    talk = Conversation().handshake()
    packets = talk.segments("client", REQUEST, 40)
    for packet in packets[:1] + packets[2:]:
        talk.add(packet)
    talk.send("server", RESPONSE).fin("client").fin("server")
    path = write_pcap(tmp_path / "lost.pcap", talk.frames)
    code, found, _ = records(path)
    assert code == 0  # a warning: neither a guessed pass nor a guessed fail
    record = found[0]
    assert record["verdict"] == "warn"
    assert record["connection"]["gaps"] == {"client": 40, "server": 0}
    assert findings(record) == {
        "capture.incomplete": "40 bytes of the request head are missing (a lost segment, or cut"
        " by the snap length): the handshake could not be checked"
    }


def test_a_lost_segment_in_the_frames_stops_their_count(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST).send("server", RESPONSE)
    talk.send("server", frame(0x1, b"a" * 10, mask=False))
    lost = talk.segments("server", frame(0x2, b"b" * 300, mask=False), 100)
    talk.add(lost[0])
    talk.add(lost[2])
    talk.add(lost[3])
    talk.send("server", frame(0x1, b"after", mask=False)).fin("server").fin("client")
    record = only(write_pcap(tmp_path / "lost-frames.pcap", talk.frames))
    assert record["verdict"] == "warn"
    assert record["connection"]["gaps"] == {"client": 0, "server": 100}
    assert record["connection"]["frames"]["server"]["text"] == 1
    assert findings(record, "warn") == {
        "capture.gap": "100 bytes the server sent after the handshake are missing from the"
        " capture: its frames after them were not counted"
    }


def test_a_capture_cut_mid_head_is_a_warning(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST)
    talk.send("server", RESPONSE[:60])
    record = only(write_pcap(tmp_path / "cut.pcap", talk.frames))
    assert (record["verdict"], record["status"]) == ("warn", None)
    assert record["connection"]["close"]["ended"] == "open"
    assert findings(record) == {
        "capture.incomplete": "the capture ended inside the response head (60 bytes): the"
        " handshake could not be checked"
    }
    talk = Conversation().handshake().send("client", REQUEST[:50])
    record = only(write_pcap(tmp_path / "cut-request.pcap", talk.frames))
    assert findings(record) == {
        "capture.incomplete": "the capture ended inside the request head (50 bytes): the"
        " handshake could not be checked"
    }


def test_a_head_the_server_ended_early_is_checked_as_far_as_it_went(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST)
    talk.send("server", RESPONSE[:60]).fin("server").fin("client")
    record = only(write_pcap(tmp_path / "short.pcap", talk.frames))
    assert (record["verdict"], record["status"]) == ("fail", 101)
    assert "the response head never ended" in findings(record, "warn")["capture.incomplete"]


def test_snap_length_96_is_reported_not_guessed(tmp_path: Path) -> None:
    talk = Conversation().websocket()
    path = write_pcap(tmp_path / "snap.pcap", talk.frames, snaplen=96)
    record = only(path)
    assert record["verdict"] == "warn"
    assert record["status"] is None
    message = findings(record, "warn")["capture.incomplete"]
    assert "cut by the snap length" in message
    assert record["connection"]["gaps"]["client"] > 0


def test_a_capture_started_after_the_request_checks_the_response_only(tmp_path: Path) -> None:
    talk = Conversation().websocket()
    frames = [f for f in talk.frames if REQUEST[:20] not in f[1]][3:]  # no SYN, no request
    record = only(write_pcap(tmp_path / "mid.pcap", frames))
    assert record["status"] == 101
    assert record["verdict"] == "warn"
    assert "started after the request" in findings(record, "warn")["capture.incomplete"]


def test_reset_without_close_is_reported_as_reset(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST).send("server", RESPONSE)
    talk.reset("server")
    record = only(write_pcap(tmp_path / "rst.pcap", talk.frames))
    assert record["connection"]["close"] == {
        "client": None, "server": None, "first": None, "ended": "reset",
    }  # fmt: skip


def test_frame_faults_fail(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST).send("server", RESPONSE)
    talk.send("client", frame(0x1, b"unmasked", mask=False))
    talk.send("server", frame(0x1, b"masked", mask=True, rsv1=True))
    talk.fin("client").fin("server")
    code, found, _ = records(write_pcap(tmp_path / "faults.pcap", talk.frames))
    assert code == 1
    assert findings(found[0], "fail") == {
        "frames.masking": "the server sent a masked frame (a server must not mask, RFC 6455 §5.1)",
        "frames.rsv1": "the server set RSV1 on 1 messages, but no extension that defines it was"
        " negotiated (clients fail the connection)",
    }


def test_a_wrong_accept_fails_with_its_diagnosis(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST)
    talk.send(
        "server", RESPONSE.replace(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo")
    )
    talk.fin("server").fin("client")
    code, found, _ = records(write_pcap(tmp_path / "bad.pcap", talk.frames))
    assert code == 1
    assert "dropped the base64 padding" in findings(found[0], "fail")["response.accept"]


def test_a_non_http_answer_fails(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST)
    talk.send("server", b"SSH-2.0-OpenSSH_9.2\r\n\r\n").fin("server").fin("client")
    record = only(write_pcap(tmp_path / "ssh.pcap", talk.frames))
    assert findings(record, "fail") == {
        "response.http": "the server answered 23 bytes that are not an HTTP response, starting"
        " 'SSH-2.0-OpenSSH_9.2\\r\\n\\r\\n'"
    }


LINK_TYPES = {
    "ethernet": (1, lambda f: f),
    "vlan": (1, vlan),
    "sll": (113, sll),
    "sll2": (276, sll2),
    "raw": (101, raw_ip),
    "null": (0, null_loopback),
}


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("link", sorted(LINK_TYPES))
def test_every_link_type_over_ipv4_and_ipv6(tmp_path: Path, link: str, v6: bool) -> None:
    linktype, wrap = LINK_TYPES[link]
    talk = Conversation(v6=v6).websocket()
    path = write_pcap(
        tmp_path / "l.pcap", [(t, wrap(f)) for t, f in talk.frames], linktype=linktype
    )
    record = only(path)
    assert (record["status"], record["verdict"]) == (101, "pass")
    address = "2001:db8::1" if v6 else "10.0.0.1"
    assert record["connection"]["client"] == {"address": address, "port": 40000}
    assert tshark_handshakes(path) == [(40000, 8080, "101")]


@pytest.mark.parametrize(
    ("big_endian", "nano"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_pcap_in_both_byte_orders_and_resolutions(
    tmp_path: Path, big_endian: bool, nano: bool
) -> None:
    talk = Conversation().websocket()
    path = write_pcap(tmp_path / "f.pcap", talk.frames, big_endian=big_endian, nano=nano)
    record = only(path)
    assert record["connection"]["started_at"] == "2023-11-14T22:13:20.004000Z"
    assert record["connection"]["handshake_ms"] == 1.0
    assert tshark_handshakes(path) == [(40000, 8080, "101")]


def test_pcapng_with_sections_and_interfaces_of_different_link_types(tmp_path: Path) -> None:
    first = Conversation(sport=40001).websocket()
    second = Conversation(sport=40002, v6=True).websocket()
    third = Conversation(sport=40003).websocket()
    sections = [
        pcapng_section([1, 276], [(0, t, f) for t, f in first.frames]
                       + [(1, t, sll2(f)) for t, f in second.frames]),
        pcapng_section([101], [(0, t, raw_ip(f)) for t, f in third.frames], big_endian=True),
    ]  # fmt: skip
    path = tmp_path / "several.pcapng"
    path.write_bytes(b"".join(sections))
    code, found, stderr = records(path)
    assert (code, stderr) == (0, "")
    assert sorted(r["connection"]["client"]["port"] for r in found) == [40001, 40002, 40003]
    assert {r["verdict"] for r in found} == {"pass"}
    assert tshark_handshakes(path) == [(p, 8080, "101") for p in (40001, 40002, 40003)]


def test_interleaved_connections_are_each_reported(tmp_path: Path) -> None:
    talks = [Conversation(sport=50000 + n).websocket() for n in range(5)]
    frames = sorted((t + n * 0.0001, f) for n, c in enumerate(talks) for t, f in c.frames)
    path = write_pcap(tmp_path / "interleaved.pcap", frames)
    code, found, _ = records(path)
    assert code == 0
    assert sorted(r["connection"]["client"]["port"] for r in found) == list(range(50000, 50005))
    assert tshark_handshakes(path) == [(50000 + n, 8080, "101") for n in range(5)]


def test_summary_is_one_row_per_connection_and_the_counts(tmp_path: Path) -> None:
    good = Conversation(sport=40001).websocket()
    bad = Conversation(sport=40002, start=1.7e9 + 1).handshake().send("client", REQUEST)
    bad.send("server", b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").fin("server")
    path = write_pcap(tmp_path / "two.pcap", sorted(good.frames + bad.frames))
    result = invoke("inspect", "--summary", str(path))
    assert result.exit_code == 1
    assert result.stdout == (
        "#fields\tts\tclient\tserver\tstatus\tverdict\thandshake_ms\tclient_frames\tserver_frames"
        "\tclient_close\tserver_close\tclosed_first\tended\tgaps\ttls\n"
        "2023-11-14T22:13:20.004000Z\t10.0.0.1:40001\t10.0.0.2:8080\t101\tpass\t1.0\ttext=1,close=1"
        "\ttext=1,close=1\t1000\t1000\tclient\tclose\t0\t-\n"
        "2023-11-14T22:13:21.004000Z\t10.0.0.1:40002\t10.0.0.2:8080\t403\tfail\t1.0\t-\t-\t-\t-\t-"
        "\tfin\t0\t-\n"
        "#connections\t2\t1 fail, 1 pass\n"
        "#server\t10.0.0.2:8080\t1 fail, 1 pass\n"
    )
    summary = invoke("inspect", "--summary", "--format", "json", str(path)).stdout.splitlines()
    assert json.loads(summary[-1]) == {
        "connections": 2, "verdicts": {"pass": 1, "fail": 1},
        "servers": {"10.0.0.2:8080": {"pass": 1, "fail": 1}},
    }  # fmt: skip


def test_summary_of_text_input_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "h.http"
    path.write_bytes(REQUEST + RESPONSE)
    result = invoke("inspect", "--summary", str(path))
    assert result.exit_code == 2
    assert "--summary is for packet captures" in result.stderr


# -- hostile captures ----------------------------------------------------------------------


def test_a_capture_without_a_handshake_exits_2(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", b"\x00\x01binary protocol").fin("client")
    result = invoke("inspect", str(write_pcap(tmp_path / "none.pcap", talk.frames)))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "wsaccept: error: no WebSocket handshake in the capture: 5 packets, 5 of them TCP, no"
        " HTTP upgrade request and no TLS among them\n"
    )


def test_a_truncated_file_reports_what_it_read_with_a_warning(tmp_path: Path) -> None:
    good = Conversation(sport=40001).websocket()
    later = Conversation(sport=40002, start=1.7e9 + 5).websocket()
    path = write_pcap(tmp_path / "t.pcap", good.frames + later.frames)
    path.write_bytes(path.read_bytes()[:-30])
    code, found, stderr = records(path)
    assert code == 0
    assert [r["connection"]["client"]["port"] for r in found] == [40001, 40002]
    assert "the capture ends inside a packet (truncated after" in stderr


@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x7FFFFFFC, 13])
def test_absurd_block_lengths_are_a_clear_warning(tmp_path: Path, length: int) -> None:
    talk = Conversation().websocket()
    section = pcapng_section([1], [(0, t, f) for t, f in talk.frames])
    block = (6).to_bytes(4, "little") + length.to_bytes(4, "little") + b"\0" * 64
    path = tmp_path / "absurd.pcapng"
    path.write_bytes(section + block)
    code, found, stderr = records(path)
    assert (code, len(found)) == (0, 1)
    assert stderr.startswith("wsaccept: warning: the capture is damaged: a block at byte")


def test_an_absurd_pcap_record_length_is_a_clear_warning(tmp_path: Path) -> None:
    talk = Conversation().websocket()
    path = write_pcap(tmp_path / "absurd.pcap", talk.frames)
    record = (0).to_bytes(8, "little") + (0xFFFFFFF0).to_bytes(4, "little") * 2 + b"\0" * 64
    path.write_bytes(path.read_bytes() + record)
    size = path.stat().st_size
    code, found, stderr = records(path)
    assert (code, len(found)) == (0, 1)
    assert stderr.startswith(
        f"wsaccept: warning: the capture is damaged: a block at byte {size - 64} claims"
        " 4294967280 bytes"
    )


def test_a_head_that_never_ends_is_a_finding_in_bounded_memory(tmp_path: Path) -> None:
    talk = Conversation().handshake()
    talk.send("client", b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nX: " + b"a" * 200_000)
    talk.fin("client")
    record = only(write_pcap(tmp_path / "endless.pcap", talk.frames))
    assert findings(record) == {
        "capture.incomplete": "the request head did not end within 64 KiB: the handshake could"
        " not be checked"
    }


def tiny_segments(count: int) -> Any:
    """A pcap of one WebSocket connection whose client then sends `count` one-byte segments,
    generated as it is read."""
    import struct

    talk = Conversation().handshake().send("client", REQUEST).send("server", RESPONSE)
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)

    def chunks() -> Any:
        yield header
        for when, data in talk.frames:
            yield struct.pack("<IIII", int(when), 0, len(data), len(data)) + data
        template = talk.packet("client", dpkt.tcp.TH_ACK, b"\x81")
        seq_at = 14 + 20 + 4
        for n in range(count):
            seq = (talk.seq["client"] + n) % (1 << 32)
            packet = template[:seq_at] + seq.to_bytes(4, "big") + template[seq_at + 4 :]
            yield struct.pack("<IIII", 1_700_000_100, 0, len(packet), len(packet)) + packet

    return lazily(chunks())


def test_a_flood_of_tiny_segments_takes_linear_time_and_bounded_memory() -> None:
    """Read in-process from a generator: the frame parser sees 20 000 one-byte pieces of
    frame headers (the CI sample of `bench/capture_bench.py --tiny 1000000000`)."""
    import tracemalloc

    from wsaccept_cli.capture import CaptureReading

    tracemalloc.start()
    reading = CaptureReading(tiny_segments(20_000))  # type: ignore[arg-type]
    found = list(reading.handshakes())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert reading.packets == 20_005
    assert len(found) == 1
    frames = found[0].connection.frames  # type: ignore[union-attr]
    assert frames["client"].counts["text"] > 0
    assert peak < 20 * 1024 * 1024


def test_nothing_raw_reaches_the_terminal(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST.replace(b"/chat", b"/\x1b[31mred"))
    talk.send("server", RESPONSE.replace(b"Switching Protocols", b"OK\x1b]0;pwned\x07"))
    talk.send("client", close_frame(1000, b"\x1b[2J", mask=True))
    talk.fin("client").fin("server")
    path = write_pcap(tmp_path / "raw.pcap", talk.frames)
    for fmt in ("plain", "json", "rich"):
        output = invoke("inspect", "-v", "--format", fmt, str(path)).stdout
        assert "\x1b[31m" not in output
        assert "\x07" not in output
        assert "\x1b[2J" not in output
    output = invoke("inspect", "--format", "json", str(path)).stdout
    assert json.loads(output)["connection"]["close"]["client"]["reason"] == "\x1b[2J"


# -- HTTP/2 (h2c, prior knowledge) -----------------------------------------------------------


def h2_frames(role: str, encoder: Any, frames: list[tuple[str, int, Any, set[str]]]) -> bytes:
    """HTTP/2 frames built with hyperframe, header blocks encoded with hpack."""
    from hyperframe.frame import (
        ContinuationFrame,
        DataFrame,
        HeadersFrame,
        RstStreamFrame,
        SettingsFrame,
    )

    out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" if role == "client" else b""
    for kind, stream, value, flags in frames:
        if kind == "settings":
            made: Any = SettingsFrame(0, settings=value)
        elif kind == "headers":
            made = HeadersFrame(stream, encoder.encode(value), flags=flags)
        elif kind == "split-headers":  # a header block in a HEADERS and a CONTINUATION frame
            block = encoder.encode(value)
            out += HeadersFrame(stream, block[:5], flags=flags).serialize()
            made = ContinuationFrame(stream, block[5:], flags={"END_HEADERS"})
        elif kind == "data":
            made = DataFrame(stream, value, flags=flags)
        else:
            made = RstStreamFrame(stream, error_code=value)
        out += made.serialize()
    return out


def test_h2c_extended_connects_each_a_handshake(tmp_path: Path) -> None:
    import hpack

    client, server = hpack.Encoder(), hpack.Encoder()
    connect = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
               (":path", "/chat"), (":authority", "example.test"),
               ("sec-websocket-version", "13")]  # fmt: skip
    talk = Conversation().handshake()
    talk.send("client", h2_frames("client", client, [
        ("settings", 0, {}, set()),
        ("split-headers", 1, connect, set()),
        ("headers", 3, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                        (":authority", "example.test")], {"END_HEADERS", "END_STREAM"}),
        ("headers", 5, connect, {"END_HEADERS"}),
    ]))  # fmt: skip
    talk.send("server", h2_frames("server", server, [
        ("settings", 0, {8: 1}, set()),
        ("headers", 1, [(":status", "200")], {"END_HEADERS"}),
        ("headers", 3, [(":status", "200")], {"END_HEADERS", "END_STREAM"}),
        ("headers", 5, [(":status", "403")], {"END_HEADERS", "END_STREAM"}),
    ]))  # fmt: skip
    talk.send("client", h2_frames("client", client, [
        ("data", 1, frame(0x1, b"over h2", mask=True), set()),
        ("data", 1, close_frame(1000, mask=True), set()),
    ])[24:])  # fmt: skip
    talk.send("server", h2_frames("server", server, [("rst", 1, 0, set())]))
    talk.fin("client").fin("server")
    code, found, _ = records(write_pcap(tmp_path / "h2c.pcap", talk.frames))
    assert code == 1
    assert [(r["source"].split(",")[0], r["status"], r["verdict"]) for r in found] == [
        ("HTTP/2 stream 5", 403, "fail"),
        ("HTTP/2 stream 1", 200, "pass"),
    ]
    stream1 = found[1]["connection"]
    assert stream1["frames"]["client"]["text"] == 1
    assert stream1["close"]["client"] == {"code": 1000, "reason": ""}
    assert stream1["close"]["ended"] == "close"


def test_a_broken_h2_frame_stops_the_reading_with_a_warning(tmp_path: Path) -> None:
    import hpack

    client = hpack.Encoder()
    connect = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
               (":path", "/"), (":authority", "a"), ("sec-websocket-version", "13")]  # fmt: skip
    talk = Conversation().handshake()
    talk.send("client", h2_frames("client", client, [("headers", 1, connect, {"END_HEADERS"})]))
    talk.send("client", b"\x00\x00\x08\x04\x00\x00\x00\x00\x00" + b"\x00" * 8)  # SETTINGS, bad
    talk.fin("client").fin("server")
    record = only(write_pcap(tmp_path / "broken.pcap", talk.frames))
    assert record["status"] is None
    message = findings(record, "warn")["capture.incomplete"]
    assert message.startswith("an HTTP/2 frame that cannot be parsed")


def test_frames_a_peer_may_not_send_fail(tmp_path: Path) -> None:
    talk = Conversation().handshake().send("client", REQUEST).send("server", RESPONSE)
    talk.send("server", b"\x83\x00")  # reserved opcode 0x3
    talk.send("client", frame(0x9, b"x" * 126, mask=True))  # a ping over 125 bytes
    talk.fin("client").fin("server")
    record = only(write_pcap(tmp_path / "bad-frames.pcap", talk.frames))
    assert [f["message"] for f in record["findings"] if f["status"] == "fail"] == [
        "the client sent a fragmented or over-long ping frame (RFC 6455 §5.5)",
        "the server sent a frame with the reserved opcode 0x3 (RFC 6455 §5.2)",
    ]
    assert record["verdict"] == "fail"


def test_tls_client_hello_gives_sni_and_alpn(tmp_path: Path) -> None:
    import ssl

    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="ws.example.test")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    talk = Conversation(dport=443).handshake().send("client", outgoing.read(), 100)
    talk.fin("client").fin("server")
    code, found, _ = records(write_pcap(tmp_path / "tls.pcap", talk.frames))
    assert code == 0
    assert found[0]["connection"]["tls"] == {
        "sni": "ws.example.test", "alpn": ["http/1.1"], "decrypted": False,
    }  # fmt: skip
    assert findings(found[0], "warn")["capture.tls"].startswith(
        "TLS to ws.example.test (ALPN http/1.1) and no --keylog"
    )


def test_pcapng_packet_of_an_undescribed_interface_is_an_error(tmp_path: Path) -> None:
    talk = Conversation().websocket()
    path = tmp_path / "no-interface.pcapng"
    path.write_bytes(pcapng_section([1], [(3, t, f) for t, f in talk.frames]))
    result = invoke("inspect", str(path))
    assert result.exit_code == 2
    assert "a packet of interface 3, never described" in result.stderr


def test_a_capture_on_stdin_is_reported_as_connections_end(tmp_path: Path) -> None:
    """As `tcpdump -U -w - | wsaccept inspect -` runs: a connection that ended is reported
    while the capture still goes on."""
    import os
    import select
    import subprocess

    from tests.helpers import clean_env, script_path

    first = Conversation(sport=40001).websocket()
    later = Conversation(sport=40002, start=1.7e9 + 5).websocket()
    whole = write_pcap(tmp_path / "all.pcap", first.frames + later.frames).read_bytes()
    cut = len(write_pcap(tmp_path / "first.pcap", first.frames).read_bytes())
    process = subprocess.Popen(
        [script_path(), "inspect", "--summary", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env(),
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(whole[:cut])
    process.stdin.flush()
    seen = b""
    while seen.count(b"\n") < 2 and select.select([process.stdout], [], [], 30)[0]:
        seen += os.read(process.stdout.fileno(), 65536)
    rows = seen.decode().splitlines()
    assert rows[1].startswith("2023-11-14T22:13:20.004000Z\t10.0.0.1:40001\t")
    process.stdin.write(whole[cut:])
    process.stdin.close()
    rest = process.stdout.read().decode().splitlines()
    process.stdout.close()
    assert process.wait(timeout=30) == 0
    assert rest[0].startswith("2023-11-14T22:13:25.004000Z\t10.0.0.1:40002\t")


def test_too_many_open_connections_are_reported_as_far_as_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_FOLLOWED connections at once, the idlest is no longer followed: reported with
    what was seen, saying why (a connection never known to be a WebSocket is forgotten)."""
    from wsaccept_cli.capture import CaptureReading, flows

    monkeypatch.setattr(flows, "MAX_FOLLOWED", 2)
    frames: list[tuple[float, bytes]] = []
    for number in range(4):
        talk = Conversation(sport=41000 + number, start=1.7e9 + number)
        frames += talk.handshake().send("client", REQUEST).send("server", RESPONSE).frames
    frames += Conversation(sport=42000, start=1.8e9).handshake().frames  # SYN only
    path = write_pcap(tmp_path / "many.pcap", frames)
    with path.open("rb") as capture:
        reading = CaptureReading(capture.read1)
        found = list(reading.handshakes())
    assert reading.evicted == 3
    notes = [h.connection.unchecked for h in found]  # type: ignore[union-attr]
    assert [h.connection.client.port for h in found] == [41000, 41001, 41002, 41003]  # type: ignore[union-attr]
    assert notes[0] == [
        "the capture had over 2 connections open at once: this one was no longer followed from here"
    ]
    assert notes[3] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x00\x00\x00\x00", "with no byte-order magic"),
        (b"\x0a\x0d\x0d\x0a\x0d\x00\x00\x00\x4d\x3c\x2b\x1a", "with the impossible length 13"),
    ],
)
def test_a_broken_pcapng_section_header_is_an_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "broken.pcapng"
    path.write_bytes(content)
    result = invoke("inspect", str(path))
    assert result.exit_code == 2
    assert f"a pcapng section header {message}" in result.stderr


def test_a_pcap_cut_inside_its_file_header(tmp_path: Path) -> None:
    path = tmp_path / "short.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00")
    result = invoke("inspect", str(path))
    assert result.exit_code == 2
    assert "the capture ends inside a packet (truncated after 8 bytes)" in result.stderr
    assert "no WebSocket handshake in the capture: 0 packets" in result.stderr


def test_what_follows_the_101_in_its_segment_reaches_the_client_predictions(
    tmp_path: Path,
) -> None:
    """A server that wrote a Close right behind its 101, in the same segment: the clients
    that read it before their first message goes out are named (clientmodels.frames)."""
    talk = Conversation().handshake().send("client", REQUEST)
    talk.send("server", RESPONSE + b"\x88\x02\x03\xe8")
    record = only(write_pcap(tmp_path / "close.pcap", talk.frames))
    refusing = [c["client"] for c in record["clients"] if not c["accepts"]]
    assert refusing == ["Chromium", "websockets", "tornado", "Java", "libwebsockets"]
    assert findings(record, "warn")["response.clients"].startswith(
        "the 101 is right, but Chromium, websockets, tornado, Java, libwebsockets (a Close frame"
        " (code 1000) right after the head, before its first message) read what the server sent"
    )
