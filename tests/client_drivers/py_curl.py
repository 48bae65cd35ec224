"""Client driver (tests/README.md, "Client drivers"): libcurl's WebSocket through curl_cffi
(it bundles a libcurl with ws:// support; Debian's curl has none)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import protocols, run, timeout


def open_one(url: str) -> str | None:
    from curl_cffi import requests as curl_requests

    offered = protocols(url)
    headers = {"Sec-WebSocket-Protocol": ", ".join(offered)} if offered else {}
    with curl_requests.Session() as session:
        ws = session.ws_connect(url, headers=headers, timeout=timeout())
        try:
            ws.send(b"hello", flags=1)  # CurlWsFlag.TEXT
        finally:
            ws.close()
    return None


if __name__ == "__main__":
    run(open_one)
