"""Client driver (tests/README.md, "Client drivers"): python-websockets' sync client, with
its defaults (permessage-deflate offered)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import protocols, run, timeout


def open_one(url: str) -> str | None:
    from websockets.sync.client import connect

    offered = protocols(url)
    with connect(url, subprotocols=offered or None, open_timeout=timeout()) as ws:  # type: ignore[arg-type]
        ws.send("hello")
    return None


if __name__ == "__main__":
    run(open_one)
