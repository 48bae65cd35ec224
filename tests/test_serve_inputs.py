"""`serve`'s own inputs refused before it listens (issue 22, item 6): a --listen host that is
no address or host name (non-ASCII, control characters, bidi controls, spaces) is a usage error
showing the value escaped; --cert and --key must be regular files of a sane size, as for
`probe --cert`. The installed script, for the exact stderr."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import run_script

USAGE = (
    "Usage: wsaccept serve [OPTIONS] [-- CMD [ARG]...]\nTry 'wsaccept serve --help' for help.\n\n"
)


@pytest.mark.parametrize(
    ("listen", "shown"),
    [
        ("\u202eevil:0", "'\\u202eevil:0': '\\u202eevil' is neither an IP address nor a host name"
         " (give its punycode form, or an address)"),
        ("h\x1b]0;x\x07st:0", "'h\\x1b]0;x\\x07st:0': 'h\\x1b]0;x\\x07st' is neither an IP address"
         " nor a host name"),
        ("bücher.example:0", "'bücher.example:0': 'bücher.example' is neither an IP address nor a"
         " host name (give its punycode form, or an address)"),
        ("a b:8080", "'a b:8080': 'a b' is neither an IP address nor a host name"),
        ("-bad-.example:1", "'-bad-.example:1': '-bad-.example' is neither an IP address nor a"
         " host name"),
    ],
)  # fmt: skip
def test_a_listen_host_that_is_no_host_is_a_usage_error(listen: str, shown: str) -> None:
    done = run_script(["serve", "--listen", listen], timeout=20)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode() == f"{USAGE}Error: Invalid value for '--listen': {shown}\n"


def test_cert_and_key_must_be_regular_files_of_a_sane_size(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.pem"
    big.write_bytes(b"-" * (1024 * 1024 + 1))
    for path, why in [
        (fifo, "is not a regular file"),
        ("/dev/zero", "is not a regular file"),
        (big, "is over 1 MiB; a PEM certificate or key is a few KiB"),
    ]:
        done = run_script(["serve", "--cert", str(path), "--key", str(path)], timeout=20)
        assert done.returncode == 2
        assert done.stderr.decode().endswith(f"Error: Invalid value for '--cert': '{path}' {why}\n")
