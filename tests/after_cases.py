"""What each client does with the bytes a server writes right behind its 101 head, as measured:
every row was served (head and bytes in one write) to the twelve real clients by
`tests/differential.py`'s server on 5 December 2026, and its outcomes are the clients' own
(`o`: opened and its first message reached the server; `r`: it did not), in `PROFILES` order:
Chromium, Firefox, Node ws, websockets, aiohttp, curl, undici, websocket-client, tornado,
gorilla, Java, libwebsockets. `test_clientmodels_after.py` holds the models to them; the
generator's `after` class (`tests/mutations.py`) serves their neighbours to the real clients.

A row: (name, fields added to the head, the bytes after it, the head's own ending when it is
not CR LF CR LF, outcomes). See `wsaccept_cli/core/clientmodels/frames.py`.
"""

from __future__ import annotations

PMD = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
BASE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: {accept}"
)


def served(fields: str, after: bytes, ending: bytes) -> bytes:
    """The bytes the server wrote, `{accept}` standing for the key's accept."""
    if ending:
        return BASE + ending + after
    return BASE + b"\r\n" + fields.encode() + b"\r\n" + after


CASES: list[tuple[str, str, bytes, bytes, str]] = [
    ('crlf', '', b'\r\n', b'', 'rooroooooorr'),
    ('lf', '', b'\n', b'', 'oooooooooorr'),
    ('crlfcrlf', '', b'\r\n\r\n', b'', 'rooroooooorr'),
    ('cr', '', b'\r', b'', 'oooooooooorr'),
    ('space', '', b' ', b'', 'oooooooooorr'),
    ('text', '', b'\x81\x05hello', b'', 'oooooooooooo'),
    ('text0', '', b'\x81\x00', b'', 'oooooooooooo'),
    ('bin', '', b'\x82\x03abc', b'', 'oooooooooooo'),
    ('ping', '', b'\x89\x00', b'', 'oooooooooooo'),
    ('pingp', '', b'\x89\x04ping', b'', 'oooooooooooo'),
    ('pong', '', b'\x8a\x00', b'', 'oooooooooooo'),
    ('close1000', '', b'\x88\x02\x03\xe8', b'', 'rooroooororr'),
    ('close1001r', '', b'\x88\x05\x03\xe9bye', b'', 'rooroooororr'),
    ('close0', '', b'\x88\x00', b'', 'rooroooororr'),
    ('close1byte', '', b'\x88\x01\x03', b'', 'rooroooororr'),
    ('close1005', '', b'\x88\x02\x03\xed', b'', 'rooroooororr'),
    ('close999', '', b'\x88\x02\x03\xe7', b'', 'rooroooororr'),
    ('close3000', '', b'\x88\x02\x0b\xb8', b'', 'rooroooororr'),
    ('closebadutf', '', b'\x88\x03\x03\xe8\xff', b'', 'rroroooooorr'),
    ('cont', '', b'\x80\x01x', b'', 'rroroooororr'),
    ('masked', '', b'\x81\x85abcd\t\x07\x0f\x08\x0e', b'', 'roorooooooro'),
    ('masked0', '', b'\x81\x80abcd', b'', 'roorooooooro'),
    ('op3', '', b'\x83\x00', b'', 'rroroooororr'),
    ('opB', '', b'\x8b\x00', b'', 'rroroooororr'),
    ('rsv1', '', b'\xc1\x05hello', b'', 'rroroooororr'),
    ('rsv2', '', b'\xa1\x05hello', b'', 'rroroooororr'),
    ('rsv3', '', b'\x91\x05hello', b'', 'rroroooororr'),
    ('pingnofin', '', b'\t\x00', b'', 'rroroooororr'),
    ('closenofin', '', b'\x08\x02\x03\xe8', b'', 'rroroooororr'),
    ('ping126', '', b'\x89~\x00~' + b'x' * 126, b'', 'rroroooororr'),
    ('trunc1', '', b'\x81', b'', 'oooooooooooo'),
    ('trunc3', '', b'\x81~\x00', b'', 'oooooooooooo'),
    ('truncpay', '', b'\x81\x05he', b'', 'oooooooooooo'),
    ('badutf', '', b'\x81\x02\xff\xfe', b'', 'rroooooororo'),
    ('top64', '', b'\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00', b'', 'rroroooororr'),
    ('frag', '', b'\x01\x03hel\x80\x02lo', b'', 'oooooooooooo'),
    ('textnonmin', '', b'\x81~\x00\x05hello', b'', 'rrooooooooro'),
    ('fragbadutf', '', b'\x01\x02\xe2\x82', b'', 'oooooooooooo'),
    ('textnofin', '', b'\x01\x03hel', b'', 'oooooooooooo'),
    ('body5', 'Content-Length: 5\r\n', b'hello', b'', 'roooooooroor'),
    ('chunkend', '', b'0\r\n\r\n', b'', 'rooooooororr'),
    ('http200', '', b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', b'', 'rooooooororr'),
    ('big', '', b'\x82\x7f\x00\x00\x00\x00\x00\x01\x11p' + b'x' * 70000, b'', 'oooooooooooo'),
    ('textpartialutf', '', b'\x81\x02\xe2\x82', b'', 'rroooooororo'),
    ('rsv1-inc', '', b'\xc1\x05he', b'', 'rooooooororr'),
    ('op3-inc', '', b'\x83\x05he', b'', 'rooroooooorr'),
    ('mask-inc', '', b'\x81\x85ab', b'', 'ooorooooooro'),
    ('nonmin-inc', '', b'\x81~\x00\x05he', b'', 'rrooooooooro'),
    ('close-inc', '', b'\x88\x02\x03', b'', 'oooooooooooo'),
    ('text+op3', '', b'\x81\x02hi\x83\x00', b'', 'rroroooororr'),
    ('text+close', '', b'\x81\x02hi\x88\x02\x03\xe8', b'', 'rooroooororr'),
    ('ping+close', '', b'\x89\x00\x88\x02\x03\xe8', b'', 'rooroooororr'),
    ('frag-interrupt', '', b'\x01\x03hel\x81\x02lo', b'', 'rroroooororr'),
    ('frag-ping', '', b'\x01\x03hel\x89\x00\x80\x02lo', b'', 'oooooooooooo'),
    ('close1004', '', b'\x88\x02\x03\xec', b'', 'rooroooororr'),
    ('close1015', '', b'\x88\x02\x03\xf7', b'', 'rooroooororr'),
    ('close1016', '', b'\x88\x02\x03\xf8', b'', 'rooroooororr'),
    ('close2999', '', b'\x88\x02\x0b\xb7', b'', 'rooroooororr'),
    ('close5000', '', b'\x88\x02\x13\x88', b'', 'rooroooororr'),
    ('close4999', '', b'\x88\x02\x13\x87', b'', 'rooroooororr'),
    ('badutf-inc', '', b'\x81\x05\xff', b'', 'roooooooooro'),
    ('b81ff', '', b'\x81\xff', b'', 'ooorooooooro'),
    ('b88', '', b'\x88', b'', 'oooooooooooo'),
    ('b8b', '', b'\x8b', b'', 'oooooooooorr'),
    ('b01', '', b'\x01', b'', 'oooooooooooo'),
    ('b09', '', b'\t', b'', 'oooooooooorr'),
    ('b80', '', b'\x80', b'', 'oooooooooorr'),
    ('bc1', '', b'\xc1', b'', 'oooooooooorr'),
    ('b81', '', b'\x81', b'', 'oooooooooooo'),
    ('ctl126-hdr-inc', '', b'\x89~', b'', 'ooooooooroor'),
    ('ctl126-pay-inc', '', b'\x89~\x00~', b'', 'rooooooororr'),
    ('len2M', '', b'\x82\x7f\x00\x00\x00\x00\x00 \x00\x00', b'', 'oooroooooooo'),
    ('len20M', '', b'\x82\x7f\x00\x00\x00\x00\x01@\x00\x00', b'', 'oooroooorooo'),
    ('len5G', '', b'\x82\x7f\x00\x00\x00\x01@\x00\x00\x00', b'', 'rroroooorooo'),
    ('len2M-16', '', b'\x82~\xff\xff', b'', 'oooooooooooo'),
    ('nonmin64', '', b'\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05abcde', b'', 'rrooooooooro'),
    ('nonmin64-126', '', b'\x82\x7f\x00\x00\x00\x00\x00\x00\x00\xc8', b'', 'rrooooooooro'),
    ('pong126', '', b'\x8a~\x00~' + b'x' * 126, b'', 'rroroooororr'),
    ('pingbadutf', '', b'\x89\x01\xff', b'', 'oooooooooooo'),
    ('textbin-mixed', '', b'\x81\x01a\x82\x01b', b'', 'oooooooooooo'),
    ('cont-inc', '', b'\x80\x05ab', b'', 'rooooooooorr'),
    ('text-after-ctl-masked', '', b'\x89\x80abcd', b'', 'roorooooooro'),
    ('pmd-rsv1-bad', PMD, b'\xc1\x05hello', b'', 'rrororoorrrr'),
    ('pmd-rsv1-ok', PMD, b'\xc1\x07\xcaH\xcd\xc9\xc9\x07\x00', b'', 'oooooroorrrr'),
    ('pmd-rsv2', PMD, b'\xa1\x05hello', b'', 'rrororoorrrr'),
    ('pmd-ping-rsv1', PMD, b'\xc9\x00', b'', 'rrororoorrrr'),
    ('pmd-cont-rsv1', PMD, b'\x01\x05\xcaH\xcd\x01\x00\xc0\x01x', b'', 'rrororoorrrr'),
    ('pmd-plain', PMD, b'\x81\x05hello', b'', 'oooooroorrrr'),
    ('pmd-rsv1-inc', PMD, b'\xc1\x05he', b'', 'oooooroorrrr'),
    ('cl3', 'Content-Length: 3\r\n', b'hello', b'', 'rooooooororr'),
    ('cl5op3', 'Content-Length: 5\r\n', b'hello\x83\x00', b'', 'rooooooororr'),
    ('cl0crlf', 'Content-Length: 0\r\n', b'\r\n', b'', 'rooroooooorr'),
    ('te', 'Transfer-Encoding: chunked\r\n', b'0\r\n\r\n', b'', 'roooooooroor'),
    ('te-frame', 'Transfer-Encoding: chunked\r\n', b'0\r\n\r\n\x81\x02hi', b'', 'roooooooroor'),
    ('cl5empty', 'Content-Length: 5\r\n', b'', b'', 'ooooooooooro'),
    ('cl5partial', 'Content-Length: 5\r\n', b'he', b'', 'rooooooororr'),
    ('cl5text', 'Content-Length: 5\r\n', b'hello\x81\x02hi', b'', 'roooooooroor'),
    ('l2p31m1', '', b'\x82\x7f\x00\x00\x00\x00\x7f\xff\xff\xff', b'', 'oooroooorooo'),
    ('l2p31', '', b'\x82\x7f\x00\x00\x00\x00\x80\x00\x00\x00', b'', 'rroroooorooo'),
    ('l2p32', '', b'\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00', b'', 'rroroooorooo'),
    ('l2p20', '', b'\x82\x7f\x00\x00\x00\x00\x00\x10\x00\x00', b'', 'oooooooooooo'),
    ('l2p20p1', '', b'\x82\x7f\x00\x00\x00\x00\x00\x10\x00\x01', b'', 'oooroooooooo'),
    ('l10M', '', b'\x82\x7f\x00\x00\x00\x00\x00\xa0\x00\x00', b'', 'oooroooooooo'),
    ('l10Mp1', '', b'\x82\x7f\x00\x00\x00\x00\x00\xa0\x00\x01', b'', 'oooroooorooo'),
    ('l2p63m1', '', b'\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff', b'', 'rroroooorooo'),
    ('top64-inc', '', b'\x82\x7f\x80', b'', 'ooooooooooor'),
    ('b7e-inc', '', b'\x82~\x00', b'', 'oooooooooooo'),
    ('ping125', '', b'\x89}' + b'x' * 125, b'', 'oooooooooooo'),
    ('close-empty-reason', '', b'\x88\x02\x03\xe8', b'', 'rooroooororr'),
    ('closeok-utf8', '', b'\x88\x04\x03\xe8\xc3\xa9', b'', 'rooroooororr'),
    ('a-lfcrlf', '', b'', b'\r\n\n\r\n', 'rorroorooorr'),
    ('a-crlfcrlflf', '', b'', b'\r\n\r\n\n', 'oooooooooorr'),
    ('a-lflf', '', b'', b'\r\n\n\n', 'oorroorooorr'),
    ('a-lf-text', '', b'', b'\r\n\n\x81\x02hi', 'oorroorooooo'),
    ('a-lfcr', '', b'', b'\r\n\n\r', 'oorroorooorr'),
    ('a-crlfcr', '', b'', b'\r\n\r\n\r', 'oooooooooorr'),
    ('a-lflfcrlf', '', b'', b'\n\n\r\n', 'rorroorooorr'),
    ('a-crcrlf', '', b'', b'\r\n\r\r\n', 'rrrrrororrrr'),
    ('a-lfcrlflf', '', b'', b'\r\n\n\r\n\n', 'rorroorooorr'),
]  # fmt: skip
