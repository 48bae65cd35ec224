"""Which proxy a probe goes through, and why: `--proxy`, `--noproxy` and the environment, read
as curl reads them, plus `ws_proxy`/`wss_proxy` as the websockets library reads them.

Pure: the environment is handed in as a mapping. The rules (curl's `CURLOPT_PROXY`,
`CURLOPT_NOPROXY` and "ENVIRONMENT" in curl(1)):

- `--proxy URL` wins over the environment; `--proxy ''` ignores the environment (no proxy).
- Otherwise, for a ws:// URL `ws_proxy`, `WS_PROXY`, then `http_proxy` (curl never reads
  `HTTP_PROXY`: under CGI it is the request's `Proxy:` header, "httpoxy"); for wss://
  `wss_proxy`, `WSS_PROXY`, `https_proxy`, `HTTPS_PROXY`; then `all_proxy`, `ALL_PROXY`. The
  lower-case name is read first; an empty value counts as unset.
- `--noproxy LIST`, else `no_proxy`/`NO_PROXY`, names hosts reached directly, whichever way the
  proxy was chosen: `*` for all; a name matches itself and its subdomains (a leading dot is
  ignored); an IP address matches itself, a CIDR block (`10.0.0.0/8`) its addresses.
- A proxy URL is `scheme://[user[:password]@]host[:port]`; without a scheme it is http://.
  Ports default as in curl: 1080 for http:// and socks, 443 for https://.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import unquote

from wsaccept_cli.core.userinfo import url_without_password
from wsaccept_cli.core.wording import quoted

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
DEFAULT_PORTS = {"https": 443}  # curl: 1080 for the rest
_CONTROL = frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


class ProxyError(ValueError):
    """A proxy URL (from --proxy or the environment) that cannot be used; str() says why."""


class ProxyURL:
    """A proxy URL taken apart. `display` never holds the password (RFC 3986 §3.2.1).

    Attributes:
      scheme      one of PROXY_SCHEMES
      host, port  where to connect (an IPv6 literal without brackets)
      user, password  the credentials, percent-decoded, or None
      remote_dns  whether the proxy resolves the target's name (socks4a, socks5h, http, https)
    """

    def __init__(self, text: str) -> None:
        if any(char in _CONTROL for char in text):
            raise ProxyError("the proxy URL contains a control character")
        scheme, slashes, rest = text.partition("://")
        if not slashes:
            scheme, rest = "http", text
        self.scheme = scheme.lower()
        if self.scheme not in PROXY_SCHEMES:
            raise ProxyError(
                f"{quoted(url_without_password(text))}: the proxy scheme {quoted(scheme)} is not"
                " one of"
                f" {', '.join(PROXY_SCHEMES)}"
            )
        # the credentials end at the last '@' (a password may hold '/', '?', '#' or '@'
        # unencoded, as users type them); a proxy URL has no path, query or fragment to lose
        userinfo, at_sign, after = rest.rpartition("@")
        hostport = re.split(r"[/?#]", after, maxsplit=1)[0]
        self.user: str | None = None
        self.password: str | None = None
        if at_sign:
            user, colon, password = userinfo.partition(":")
            self.user = unquote(user)
            self.password = unquote(password) if colon else None
        self.host, self.port = _host_port(hostport, DEFAULT_PORTS.get(self.scheme, 1080), text)
        self.remote_dns = self.scheme in ("http", "https", "socks4a", "socks5h")
        host = f"[{self.host}]" if ":" in self.host else self.host
        user_part = f"{self.user}@" if self.user else ""
        self.display = f"{self.scheme}://{user_part}{host}:{self.port}"

    def basic_credentials(self) -> str | None:
        """`Basic …` for Proxy-Authorization (RFC 9110 §11.7.1, RFC 7617), or None."""
        if self.user is None:
            return None
        pair = f"{self.user}:{self.password or ''}".encode("utf-8", "surrogateescape")
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def secrets(self) -> list[str]:
        """What must never be printed: the password, and the Basic credentials."""
        found = [self.password] if self.password else []
        credentials = self.basic_credentials()
        if credentials is not None and self.password:
            found.append(credentials.split(" ", 1)[1])
        return found


def _host_port(hostport: str, default: int, text: str) -> tuple[str, int]:
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise ProxyError(f"{quoted(url_without_password(text))}: the proxy URL has no host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise ProxyError(
            f"{quoted(url_without_password(text))}: the proxy host is not a host name"
        ) from None
    if not port_text:
        return host.lower(), default
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ProxyError(f"{quoted(url_without_password(text))}: the proxy port is not a TCP port")
    return host.lower(), int(port_text)


class ProxyChoice:
    """The proxy a probe goes through (`proxy` None: directly) and the reason, for the report:
    'the --proxy option', 'the environment variable https_proxy', 'no_proxy matches …'."""

    __slots__ = ("proxy", "reason", "source")

    def __init__(self, proxy: ProxyURL | None, source: str | None, reason: str) -> None:
        self.proxy = proxy
        self.source = source  # "--proxy", or the variable's name; None when direct
        self.reason = reason

    def as_dict(self) -> dict[str, str | None]:
        return {
            "url": self.proxy.display if self.proxy else None,
            "source": self.source,
            "reason": self.reason,
        }


def variables_for(secure: bool) -> tuple[str, ...]:
    """The environment variables that may name the proxy for ws:// or wss://, in order."""
    own = ("wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY") if secure else (
        "ws_proxy", "WS_PROXY", "http_proxy")  # fmt: skip
    return (*own, "all_proxy", "ALL_PROXY")


def choose_proxy(
    secure: bool,
    host: str,
    *,
    option: str | None = None,
    noproxy: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ProxyChoice:
    """The proxy for a connection to `host` (as resolved: lower case, IPv6 without brackets)."""
    environ = environ or {}
    if option == "":
        return ProxyChoice(None, None, "--proxy '' ignores the proxy environment variables")
    if option is not None:
        source, text = "--proxy", option
    else:
        found = next((name for name in variables_for(secure) if environ.get(name)), None)
        if found is None:
            return ProxyChoice(None, None, "no proxy is set (--proxy, or the environment)")
        source, text = found, environ[found]
    exceptions, exceptions_from = (noproxy, "--noproxy") if noproxy is not None else _no_proxy(
        environ)  # fmt: skip
    matched = bypassed_by(host, exceptions or "")
    if matched is not None:
        return ProxyChoice(
            None, None, f"{exceptions_from} matches {quoted(matched)}, so {source} is not used"
        )
    where = "the --proxy option" if source == "--proxy" else f"the environment variable {source}"
    try:
        proxy = ProxyURL(text)
    except ProxyError as error:
        raise ProxyError(f"{source}: {error}") from None
    return ProxyChoice(proxy, source, f"{where} names it")


def _no_proxy(environ: Mapping[str, str]) -> tuple[str | None, str]:
    for name in ("no_proxy", "NO_PROXY"):
        if name in environ:
            return environ[name], name
    return None, "no_proxy"


def bypassed_by(host: str, exceptions: str) -> str | None:
    """The entry of a no_proxy list that `host` matches, or None."""
    host = host.strip("[]").rstrip(".").lower()
    address = _address(host)
    for entry in exceptions.replace(" ", ",").split(","):
        pattern = entry.strip().lower()
        if not pattern:
            continue
        if pattern == "*":
            return entry.strip()
        if address is not None and _address_matches(address, pattern):
            return entry.strip()
        name = pattern.lstrip(".").rstrip(".")
        if address is None and name and (host == name or host.endswith("." + name)):
            return entry.strip()
    return None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _address_matches(address: ipaddress.IPv4Address | ipaddress.IPv6Address, pattern: str) -> bool:
    try:
        network = ipaddress.ip_network(pattern.strip("[]"), strict=False)
    except ValueError:
        return False
    return address.version == network.version and address in network
