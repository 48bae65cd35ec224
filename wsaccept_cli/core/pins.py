"""Where a connection goes instead of where DNS says: curl's `--resolve HOST:PORT:ADDR[,ADDR]`
and `--connect-to HOST1:PORT1:HOST2:PORT2`, parsed and applied. Pure.

`--connect-to` changes the host and port connected to (an empty HOST1 or PORT1 matches any, an
empty HOST2 or PORT2 keeps the original), while the request's Host header and the TLS server
name stay those of the URL: to test one backend behind a load balancer. `--resolve` gives the
addresses of a host and port without asking DNS: to test a server before DNS points at it. As in
curl, `--connect-to` is applied first and `--resolve` to where it leads. IPv6 addresses are
written in brackets (`[::1]`).
"""

from __future__ import annotations

import ipaddress

from wsaccept_cli.core.wording import quoted


class PinError(ValueError):
    """A --resolve or --connect-to value that cannot be taken apart; str() says why."""


def _split(text: str, parts: int, option: str, form: str) -> list[str]:
    """`text` split at the colons outside brackets into exactly `parts` fields."""
    fields: list[str] = []
    current, depth = "", 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == ":" and depth == 0 and len(fields) < parts - 1:
            fields.append(current)
            current = ""
        else:
            current += char
    fields.append(current)
    if len(fields) != parts or any(char in text for char in "\r\n\x00 \t"):
        raise PinError(f"{option}: {quoted(text)} is not {form}")
    if not text.isascii():
        raise PinError(f"{option}: {quoted(text)} is not ASCII; give a host in its punycode form")
    return fields


def _port(text: str, option: str, *, empty: bool) -> int | None:
    if not text and empty:
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise PinError(f"{option}: {quoted(text)} is not a TCP port (1 to 65535)")
    return int(text)


def _host(text: str) -> str:
    return text[1:-1].lower() if text.startswith("[") and text.endswith("]") else text.lower()


class Resolve:
    """One --resolve entry: the addresses of HOST:PORT (HOST '*' for any host)."""

    __slots__ = ("addresses", "host", "port", "text")

    def __init__(self, text: str) -> None:
        form = "HOST:PORT:ADDRESS[,ADDRESS...]"
        host, port, addresses = _split(text.removeprefix("+"), 3, "--resolve", form)
        self.text = text
        self.host = _host(host)
        self.port = _port(port, "--resolve", empty=False)
        self.addresses: list[str] = []
        for address in addresses.split(","):
            try:
                self.addresses.append(str(ipaddress.ip_address(_host(address.strip()))))
            except ValueError:
                raise PinError(f"--resolve: {quoted(address)} is not an IP address") from None
        if not self.host:
            raise PinError(f"--resolve: {quoted(text)} is not {form}")


class ConnectTo:
    """One --connect-to entry."""

    __slots__ = ("from_host", "from_port", "text", "to_host", "to_port")

    def __init__(self, text: str) -> None:
        form = "HOST1:PORT1:HOST2:PORT2"
        from_host, from_port, to_host, to_port = _split(text, 4, "--connect-to", form)
        self.text = text
        self.from_host, self.to_host = _host(from_host), _host(to_host)
        self.from_port = _port(from_port, "--connect-to", empty=True)
        self.to_port = _port(to_port, "--connect-to", empty=True)


class Pins:
    """Every --resolve and --connect-to given, and which one applies to a host and port."""

    def __init__(self, resolve: list[Resolve], connect_to: list[ConnectTo]) -> None:
        self.resolve = resolve
        self.connect_to = connect_to

    @classmethod
    def parse(cls, resolve: tuple[str, ...] = (), connect_to: tuple[str, ...] = ()) -> Pins:
        return cls([Resolve(t) for t in resolve], [ConnectTo(t) for t in connect_to])

    def destination(self, host: str, port: int) -> tuple[str, int, str | None]:
        """Where to connect for `host`:`port`, and the --connect-to that said so (or None)."""
        for entry in self.connect_to:
            if entry.from_host in ("", host) and entry.from_port in (None, port):
                return entry.to_host or host, entry.to_port or port, entry.text
        return host, port, None

    def addresses(self, host: str, port: int) -> tuple[list[str], str] | None:
        """The pinned addresses of `host`:`port` and the --resolve that pinned them, or None."""
        for entry in self.resolve:
            if entry.host in ("*", host) and entry.port == port:
                return entry.addresses, entry.text
        return None
