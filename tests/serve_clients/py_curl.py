"""A real client for the serve tests: libcurl's WebSocket support, through curl_cffi (it bundles
a libcurl with ws:// support; Debian's curl 7.88 has none). Usage: py_curl.py URL.

Prints `accepted` (exit 0) when the connection was upgraded and its message came back, or
`refused: REASON` (exit 1) when libcurl failed it."""

import sys

from curl_cffi import CurlError
from curl_cffi.requests import Session

try:
    with Session() as session:
        ws = session.ws_connect(sys.argv[1], timeout=5)
        ws.send_str("hello")
        echo = ws.recv()
        print(f"accepted: echo {echo[0]!r}")
        ws.close()
except CurlError as error:
    print(f"refused: {error}")
    sys.exit(1)
