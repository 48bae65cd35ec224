"""The requests and responses wsaccept writes: a ws:// or wss:// URL taken apart as a browser
takes it apart, a complete opening handshake request, and a 101 response to a key.

Everything we would send is checked here first, so a request we send is always well-formed
HTTP/1.1 (RFC 9112): a value given on the command line that would split a header line (CR, LF),
end it early (NUL) or smuggle bytes a server reads differently (other control characters,
non-ASCII) is refused with a RequestError naming the option it came from, never sent. The URL is
percent-encoded and its host IDNA-encoded the way the WHATWG URL Standard has browsers do it,
so the request line and Host header are what a browser's `new WebSocket(url)` would send.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence

from wsaccept_cli.core.keys import accept_for, generate_keys
from wsaccept_cli.core.userinfo import url_without_password

URL_OPTION = "URL"
HEADER_OPTION = "-H"
ORIGIN_OPTION = "--origin"
PROTOCOL_OPTION = "--protocol"
EXTENSION_OPTION = "--extension"
KEY_OPTION = "--ws-key"

# RFC 9110 §5.6.2: token = 1*tchar.
TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # C0 and DEL: one character class, linear
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
_CONTROL_NAMES = {
    "\x00": "a NUL",
    "\t": "a TAB",
    "\n": "an LF",
    "\r": "a CR",
    "\x1b": "an ESC",
    "\x7f": "a DEL",
}
_SHOWN_LIMIT = 80

# WHATWG URL Standard §1.3 percent-encode sets, for the special schemes ws and wss. The C0 control
# part never applies here (a control character in a URL is refused before encoding) and
# everything above U+007E is encoded as UTF-8. '%' is in no set: an existing %XX is kept.
_QUERY_SET = frozenset(' "#<>')
_SPECIAL_QUERY_SET = _QUERY_SET | {"'"}
_PATH_SET = _QUERY_SET | set("?^`{}")
_USERINFO_SET = _PATH_SET | set("/:;=@[\\]|")
# WHATWG URL Standard §3.2: forbidden domain code points (C0 controls and DEL come in through
# percent-decoding only; raw ones are refused before).
_FORBIDDEN_HOST = frozenset(" #%/:<>?@[\\]^|\x7f") | {chr(c) for c in range(0x20)}
_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # label separators of IDNA (RFC 3490 §3.1)
_HEX = frozenset("0123456789abcdefABCDEF")
_OWS = frozenset(" \t")


class RequestError(ValueError):
    """A value we would send that would make the request malformed.

    `option` names where it came from ("URL", "-H", "--origin", "--protocol", "--extension",
    "--ws-key"), `problem` is one line saying what is wrong with the value shown escaped (never
    raw control characters, never a password); str() is "OPTION: PROBLEM".
    """

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option}: {problem}")
        self.option = option
        self.problem = problem


def shown(value: str | bytes, at: int | None = None) -> str:
    """`value` quoted for a message, control characters escaped visibly (\\r, \\n, \\x00,
    \\x1b, as Python's repr writes them), never raw, so an error message cannot itself inject a
    line or a terminal escape; a long value is cut to the part around position `at`."""
    if len(value) <= _SHOWN_LIMIT:
        return _quoted(value)
    start = min(max((at or 0) - _SHOWN_LIMIT // 2, 0), len(value) - _SHOWN_LIMIT)
    end = start + _SHOWN_LIMIT
    before = "…" if start > 0 else ""
    after = "…" if end < len(value) else ""
    return f"{before}{_quoted(value[start:end])}{after} ({len(value)} characters)"


def _quoted(value: str | bytes) -> str:
    return repr(value)[1:] if isinstance(value, bytes) else repr(value)


def _character(char: str) -> str:
    """A control character named for a message: 'a CR (\\r)'."""
    escaped = repr(char)[1:-1]
    return f"{_CONTROL_NAMES.get(char, 'a control character')} ({escaped})"


def check_value(
    option: str, value: str, *, what: str = "a header value", tab: bool = False
) -> None:
    """Refuse a value to be sent in a header: control characters (RFC 9110 §5.5 allows none but
    HTAB, and only where `tab` says it is meant) and non-ASCII (obs-text, which servers read as
    Latin-1, UTF-8 or refuse; RFC 9110 §5.5 says to send only visible ASCII)."""
    _check_controls(option, value, what=what, tab=tab)
    if not value.isascii():
        at = next(i for i, char in enumerate(value) if not char.isascii())
        raise RequestError(
            option,
            f"{shown(value, at)} contains non-ASCII {shown(value[at])}; {what} must be ASCII"
            f" (RFC 9110 §5.5): {_ascii_hint(option, value)}",
        )


def _check_controls(option: str, value: str, *, what: str, tab: bool = False) -> None:
    found = (_CONTROL_BUT_TAB if tab else _CONTROL).search(value)
    if found:
        at = found.start()
        raise RequestError(
            option,
            f"{shown(value, at)} contains {_character(found.group())}; {what} cannot"
            " (RFC 9110 §5.5)",
        )


def _ascii_hint(option: str, value: str) -> str:
    """How to say the same in ASCII: punycode for an origin's host, percent-encoding otherwise."""
    if option == ORIGIN_OPTION:
        scheme, slashes, rest = value.partition("://")
        cut = next((i for i, char in enumerate(rest) if char in ":/"), len(rest))
        host = rest[:cut]
        if slashes and host and not _FORBIDDEN_HOST.intersection(host):
            encoded, problem = _encode_host(host)
            if problem is None and encoded.isascii():
                punycode = scheme + slashes + encoded + rest[cut:]
                if punycode.isascii():
                    return f"give the host in punycode, {shown(punycode)}"
        return "give the host in punycode (IDNA, RFC 5891)"
    if option == KEY_OPTION:
        return "a key is base64 (RFC 6455 §4.1)"
    return "percent-encode it (RFC 3986 §2.1), or give a host name in punycode (IDNA, RFC 5891)"


def check_token(option: str, value: str, *, what: str, section: str) -> None:
    """Refuse a value that is not an HTTP token (RFC 9110 §5.6.2), control characters first."""
    _check_controls(option, value, what=what)
    if not value:
        raise RequestError(option, f"{what} cannot be empty; it is a token ({section})")
    bad = next((i for i, char in enumerate(value) if char not in TCHAR), None)
    if bad is not None:
        comma = value[bad] == "," and option != HEADER_OPTION
        hint = f"; give {option} once per name" if comma else ""
        note = "" if value[bad].isascii() else " (non-ASCII)"
        raise RequestError(
            option,
            f"{shown(value, bad)} is not {what}: {shown(value[bad])}{note} is not allowed in"
            f" a token ({section}){hint}",
        )


def parse_header_option(text: str) -> tuple[str, str]:
    """'Name: value' as given to -H: the name, which must be a token, and the value without
    the optional whitespace around it (RFC 9110 §5.5). Only spaces and tabs are trimmed, so a
    CR or LF at either end is refused, not quietly dropped."""
    name, colon, value = text.lstrip(" \t").partition(":")
    if not colon:
        raise RequestError(HEADER_OPTION, f"{shown(text)} is not 'Name: value'")
    if name != name.rstrip(" \t"):
        raise RequestError(
            HEADER_OPTION,
            f"{shown(text)} is not 'Name: value': no whitespace may come before the colon"
            " (RFC 9112 §5.1)",
        )
    value = value.strip(" \t")
    check_header(name, value)
    return name, value


def check_header(name: str, value: str, option: str = HEADER_OPTION) -> None:
    """A header to send: the name a token, the value visible ASCII and spaces (a tab, though
    HTTP allows one, is a control character, refused like every other)."""
    check_token(option, name, what="a header name", section="RFC 9110 §5.1, §5.6.2")
    check_value(option, value)


def check_origin(origin: str) -> None:
    """The Origin header's value (RFC 6454 §7). Only what would break the request is refused:
    an origin a server should reject ('null', 'evil') is a fair thing to test it with."""
    check_value(ORIGIN_OPTION, origin)


def check_protocols(protocols: Sequence[str]) -> None:
    """Offered subprotocols: each a token, none twice (RFC 6455 §4.1)."""
    seen: set[str] = set()
    for protocol in protocols:
        check_token(
            PROTOCOL_OPTION,
            protocol,
            what="a subprotocol name",
            section="RFC 6455 §4.1, RFC 9110 §5.6.2",
        )
        if protocol in seen:
            raise RequestError(
                PROTOCOL_OPTION,
                f"{shown(protocol)} is given twice; offered subprotocols must be unique"
                " (RFC 6455 §4.1)",
            )
        seen.add(protocol)


def check_extension(extension: str) -> None:
    """One offered extension, `name; param; param=value` (RFC 6455 §9.1): tokens, a value a
    token or a quoted string whose content is a token, spaces or tabs around ';' and '='. A
    comma would make it a list; each extension is its own --extension. One pass, no regex."""
    check_value(EXTENSION_OPTION, extension, what="an extension")
    text, end = extension, len(extension)

    def fail(at: int, why: str) -> RequestError:
        return RequestError(
            EXTENSION_OPTION,
            f"{shown(text, at)} is not 'name; param=value' (RFC 6455 §9.1): {why}",
        )

    def skip(at: int, chars: frozenset[str]) -> int:
        while at < end and text[at] in chars:
            at += 1
        return at

    at = skip(0, _OWS)
    after = skip(at, TCHAR)
    if after == at:
        raise fail(at, "it does not start with an extension name (a token)")
    at = skip(after, _OWS)
    while at < end:
        if text[at] == ",":
            raise fail(at, "a comma starts another extension; give --extension once per extension")
        if text[at] != ";":
            raise fail(at, f"{shown(text[at])} is not allowed there; parameters follow ';'")
        at = skip(at + 1, _OWS)
        after = skip(at, TCHAR)
        if after == at:
            raise fail(at, "a parameter name (a token) must follow ';'")
        at = skip(after, _OWS)
        if at == end or text[at] != "=":
            continue
        at = skip(at + 1, _OWS)
        if at < end and text[at] == '"':
            content, at = _quoted_string(text, at)
            if content is None:
                raise fail(at, "the quoted string is not closed")
            if not content or not TCHAR.issuperset(content):
                raise fail(at, "the content of a quoted parameter value must be a token")
        else:
            after = skip(at, TCHAR)
            if after == at:
                raise fail(at, "a parameter value must be a token or a quoted string")
            at = after
        at = skip(at, _OWS)


def _quoted_string(text: str, at: int) -> tuple[str | None, int]:
    """The unescaped content of the quoted string starting at `at` (RFC 9110 §5.6.4) and the
    position after it; None for a string that is not closed."""
    content: list[str] = []
    index = at + 1
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(content), index + 1
        if char == "\\" and index + 1 < len(text):
            index += 1
        content.append(text[index])
        index += 1
    return None, at


def check_key(key: bytes) -> None:
    """The Sec-WebSocket-Key to send. Any key the line can carry is allowed, a wrong one too
    (a server's refusal is worth seeing); only what would break the request is refused."""
    found = _CONTROL_BYTES.search(key)
    if found:
        char = found.group().decode("latin-1")
        raise RequestError(
            KEY_OPTION,
            f"{shown(key, found.start())} contains {_character(char)}; a header value cannot"
            " (RFC 9110 §5.5)",
        )
    if not key.isascii():
        at = next(i for i, byte in enumerate(key) if byte > 0x7E)
        raise RequestError(
            KEY_OPTION,
            f"{shown(key, at)} contains the non-ASCII byte {shown(key[at : at + 1])}; a header"
            " value must be ASCII (RFC 9110 §5.5): a key is base64 (RFC 6455 §4.1)",
        )


class RequestTarget:
    """A ws:// or wss:// URL (RFC 6455 §3) taken apart as a browser's `new WebSocket(url)` takes
    it apart, with the WHATWG URL Standard, for the request line, the Host header, DNS and TLS.

    An http:// or https:// URL is taken as ws:// or wss://, as the WebSocket constructor takes
    it, with `scheme_note` saying so.

    Raises RequestError (option "URL") for what is not such a URL: another scheme, no host, a
    bad port (not digits, 0, over 65535), a control character anywhere, a host holding a
    forbidden code point. A host that is a well-formed URL host but no DNS name (an empty
    label, a label over 63 bytes) is not an error here: browsers parse such URLs and fail at
    the lookup, so `host_problem` says why and the probe reports it as a failed lookup.

    Attributes:
      secure       wss://
      host         what to resolve and the TLS server name: the host lowercased and
                   IDNA-encoded (punycode), an IPv6 literal without brackets; always ASCII
      port         the TCP port, the scheme's default when none is given
      host_header  the Host header: host, IPv6 in brackets, ':port' unless the default
      path         the request-target: path and query, percent-encoded, without the fragment
      host_problem None, or why `host` cannot be looked up ("label too long (…)", "empty label
                   (…)", "name too long (…)", "cannot be IDNA-encoded: …")
      authorization  'Basic …' from the URL's user and password (as curl sends it), or None
      display_url  the URL to print: the password removed (RFC 3986 §3.2.1)
      full_url     the URL with the password: print it only when secrets are to be shown
      secrets      the credentials of the URL in every form they may be echoed in
    """

    def __init__(self, url: str) -> None:
        url = url.strip(" ")  # WHATWG URL §4.4 strips leading and trailing spaces
        safe = url_without_password(url)
        found = _CONTROL.search(url)
        if found:
            in_safe = _CONTROL.search(safe)
            where = (
                f"{shown(safe, in_safe.start())}" if in_safe else f"the password of {shown(safe)}"
            )
            raise RequestError(
                URL_OPTION,
                f"{where} contains {_character(found.group())}; a URL cannot (WHATWG URL §4.4)",
            )
        scheme, slashes, rest = url.partition("://")
        # The WebSockets Standard's constructor (§3.1, "new WebSocket(url)") turns http into ws
        # and https into wss: so do we, and say so (`scheme_note`).
        self.scheme_note: str | None = None
        mapped = {"http": "ws", "https": "wss"}.get(scheme.lower()) if slashes else None
        if mapped is not None:
            self.scheme_note = (
                f"{scheme.lower()}:// is taken as {mapped}://, as the WebSocket constructor of"
                " browsers takes it (WHATWG WebSockets Standard, new WebSocket(url))"
            )
            scheme = mapped
        if not slashes or scheme.lower() not in ("ws", "wss"):
            raise RequestError(URL_OPTION, f"{shown(safe)} is not a ws:// or wss:// URL")
        self.secure = scheme.lower() == "wss"
        rest = rest.partition("#")[0]  # the fragment is never sent (RFC 6455 §3)
        before_query, question, query = rest.partition("?")
        # ws and wss are special schemes: a backslash is a slash before the query (WHATWG §4.4)
        before_query = before_query.replace("\\", "/")
        slash = before_query.find("/")
        authority = before_query if slash < 0 else before_query[:slash]
        path = "/" if slash < 0 else before_query[slash:]
        userinfo, at_sign, hostport = authority.rpartition("@")
        host, port_text = _split_hostport(hostport, safe)
        default_port = 443 if self.secure else 80
        self.port = _port(port_text, safe) or default_port
        self.host, self.host_problem, url_host = _parse_host(host, safe)
        self.host_header = url_host if self.port == default_port else f"{url_host}:{self.port}"
        target = _dot_segments(_percent_encode(path, _PATH_SET))
        if question:
            target += "?" + _percent_encode(query, _SPECIAL_QUERY_SET)
        self.path = target
        self.authorization: str | None = None
        self.secrets: tuple[bytes, ...] = ()
        shown_userinfo = full_userinfo = ""
        user, _, password = userinfo.partition(":")
        if at_sign and (user or password):
            user_bytes, password_bytes = _credential(user, "user name"), _credential(password)
            if b":" in user_bytes:
                raise RequestError(
                    URL_OPTION,
                    f"{shown(safe)}: the user name contains a colon (%3A), which Basic"
                    " credentials cannot carry (RFC 7617 §2)",
                )
            pair = user_bytes + b":" + password_bytes
            token = base64.b64encode(pair)
            self.authorization = "Basic " + token.decode("ascii")
            encoded_user = _percent_encode(user, _USERINFO_SET)
            full_userinfo = encoded_user
            if password_bytes:
                # the user name is shown, as curl -v shows it; the password never is
                full_userinfo += ":" + _percent_encode(password, _USERINFO_SET)
                shown_userinfo = encoded_user
                revealing = [_utf8_text(password), password_bytes]
            else:
                # no password: the user name is the credential (a token as user name)
                revealing = [_utf8_text(user), user_bytes]
            self.secrets = _unique([*revealing, pair, token, token.rstrip(b"=")])
        origin = f"{scheme.lower()}://"
        self.display_url = origin + _at(shown_userinfo) + self.host_header + self.path
        self.full_url = origin + _at(full_userinfo) + self.host_header + self.path

    def __repr__(self) -> str:
        return f"RequestTarget({self.display_url!r})"


def _at(userinfo: str) -> str:
    return f"{userinfo}@" if userinfo else ""


def _unique(values: Iterable[bytes]) -> tuple[bytes, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _split_hostport(hostport: str, safe: str) -> tuple[str, str]:
    """The host (an IPv6 literal with its brackets) and the port text after it."""
    if hostport.startswith("["):
        close = hostport.find("]")
        after = hostport[close + 1 :] if close > 0 else ""
        if close < 0 or (after and not after.startswith(":")):
            raise RequestError(
                URL_OPTION, f"{shown(safe)} has a malformed IPv6 address in brackets"
            )
        return hostport[: close + 1], after[1:]
    host, _, port = hostport.partition(":")
    if ":" in port:
        raise RequestError(
            URL_OPTION, f"{shown(safe)} has an IPv6 address that is not in brackets ('[::1]')"
        )
    return host, port


def _port(text: str, safe: str) -> int | None:
    """The port (WHATWG URL §4.4: ASCII digits, empty for the default), 1 to 65535."""
    if not text:
        return None
    if not all("0" <= char <= "9" for char in text):
        raise RequestError(
            URL_OPTION, f"{shown(safe)} has a bad port: {shown(text)} is not a number"
        )
    digits = text.lstrip("0")
    if len(digits) > 5:  # before int(), which refuses over 4,300 digits with a ValueError
        raise RequestError(
            URL_OPTION, f"{shown(safe)} has a bad port: {shown(text)} is not a TCP port"
        )
    port = int(digits or "0")
    if not 0 < port < 65536:
        raise RequestError(
            URL_OPTION, f"{shown(safe)} has a bad port: {port} is not a TCP port (1 to 65535)"
        )
    return port


def _parse_host(host: str, safe: str) -> tuple[str, str | None, str]:
    """(host to resolve, why it cannot be, host as written in Host and URLs)."""
    if not host:
        raise RequestError(URL_OPTION, f"{shown(safe)} has no host")
    if host.startswith("["):
        address = _ipv6(host[1:-1], safe)
        return address, None, f"[{address}]"
    decoded = _percent_decode(host)
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(
            URL_OPTION, f"{shown(safe)}: the host percent-decodes to bytes that are not UTF-8"
        ) from None
    _check_host_characters(text, safe)
    encoded, problem = _encode_host(text)
    _check_host_characters(encoded, safe, mapped=True)
    return encoded, problem, encoded


def _check_host_characters(host: str, safe: str, *, mapped: bool = False) -> None:
    bad = next((i for i, char in enumerate(host) if char in _FORBIDDEN_HOST), None)
    if bad is not None:
        what = f"maps to {shown(host)}, which holds" if mapped else "holds"
        raise RequestError(
            URL_OPTION,
            f"{shown(safe)}: the host {what} {shown(host[bad])}, which a host name cannot"
            " (WHATWG URL §3.2)",
        )


def _ipv6(text: str, safe: str) -> str:
    """An IPv6 literal in its canonical form (RFC 5952), as browsers serialise it."""
    import ipaddress

    try:
        if "%" in text:
            raise ValueError
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        raise RequestError(
            URL_OPTION,
            f"{shown(safe)}: {shown(text)} is not an IPv6 address"
            " (zone identifiers such as %25eth0 are not allowed, WHATWG URL §3.5)",
        ) from None


def _encode_host(host: str) -> tuple[str, str | None]:
    """The host as DNS needs it, ASCII, and why it cannot be looked up (or None).

    Non-ASCII labels go through the stdlib `encodings.idna` (IDNA 2003, RFC 3490: nameprep,
    then punycode), imported only for them. Browsers use UTS #46 non-transitional processing;
    the two agree on ordinary names (bücher.example → xn--bcher-kva.example) and differ on the
    deviation characters (ß, ς, ZWJ, ZWNJ: IDNA 2003 maps 'faß.de' to 'fass.de', a browser
    sends 'xn--fa-hia.de'). The `idna` package would match browsers, but wsaccept depends on
    click and rich only, and a name that differs only there fails the lookup; it never makes
    the request malformed. A label that cannot be encoded still becomes ASCII (punycode of it
    as given), so the request can be built and printed; `host_problem` says why no lookup
    is made.
    """
    problem: str | None = None
    labels = _DOTS.split(host) if not host.isascii() else host.split(".")
    encoded = []
    for label in labels:
        if label.isascii():
            encoded.append(label.lower())
            continue
        from encodings import idna

        try:
            prepared = idna.nameprep(label)
        except UnicodeError as error:
            reason = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(error))
            problem = problem or f"cannot be IDNA-encoded: {reason}"
            prepared = label.lower()
        if prepared.isascii():
            encoded.append(prepared)
            continue
        if prepared.startswith("xn--"):  # RFC 3490 §4.1 ToASCII step 5
            problem = problem or "cannot be IDNA-encoded: a non-ASCII label starts with 'xn--'"
        encoded.append("xn--" + prepared.encode("punycode").decode("ascii"))
    name = ".".join(encoded)
    ends_in_dot = len(encoded) > 1 and encoded[-1] == ""
    for label in encoded[:-1] if ends_in_dot else encoded:
        if not label:
            problem = problem or "empty label (two dots in a row, or a dot at the start)"
        elif len(label) > 63:
            problem = (
                problem or f"label too long ({len(label)} bytes; DNS allows 63, RFC 1035 §2.3.4)"
            )
    length = len(name) - ends_in_dot
    if problem is None and length > 253:
        problem = f"name too long ({length} bytes; DNS allows 253, RFC 1035 §2.3.4)"
    return name, problem


def _utf8(char: str) -> bytes:
    """One character as UTF-8; a surrogate that stands for a byte of a command-line argument
    that was not UTF-8 (PEP 383) is that byte, any other lone surrogate U+FFFD (as WHATWG's
    USVString conversion makes it)."""
    try:
        return char.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return "\ufffd".encode()


def _utf8_text(text: str) -> bytes:
    return text.encode() if text.isascii() else b"".join(_utf8(char) for char in text)


def _percent_encode(text: str, encode_set: frozenset[str]) -> str:
    """`text` with the characters of `encode_set` and all non-ASCII percent-encoded as UTF-8
    (WHATWG URL §1.3); an existing %XX is left as it is."""
    if text.isascii() and not encode_set.intersection(text):
        return text
    out = []
    for char in text:
        if char in encode_set or not char.isascii():
            out.append("".join(f"%{byte:02X}" for byte in _utf8(char)))
        else:
            out.append(char)
    return "".join(out)


def _percent_decode(text: str) -> bytes:
    """%XX decoded to bytes, the rest as UTF-8; a '%' not followed by two hex digits stays."""
    data = _utf8_text(text)
    if b"%" not in data:
        return data
    parts = data.split(b"%")
    out = [parts[0]]
    for part in parts[1:]:
        if len(part) >= 2 and chr(part[0]) in _HEX and chr(part[1]) in _HEX:
            out.append(bytes([int(part[:2], 16)]) + part[2:])
        else:
            out.append(b"%" + part)
    return b"".join(out)


def _credential(text: str, what: str = "password") -> bytes:
    """A user name or password from the URL, percent-decoded, as Basic credentials carry it."""
    value = _percent_decode(text)
    if _CONTROL_BYTES.search(value):
        raise RequestError(
            URL_OPTION,
            f"the {what} in the URL decodes to a control character, which Basic credentials"
            " cannot carry (RFC 7617 §2)",
        )
    return value


def _dot_segments(path: str) -> str:
    """The path with '.' and '..' segments resolved, as browsers and curl send it (WHATWG URL
    §4.4 path state, RFC 3986 §5.2.4), including their percent-encoded spellings."""
    if "." not in path and "%2e" not in path.lower():
        return path
    segments = path.split("/")[1:]
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        lowered = segment.lower()
        if lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if out:
                out.pop()
            if last:
                out.append("")
        elif lowered in (".", "%2e"):
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def _headers_checked(
    extra_headers: Iterable[tuple[str, str]], option: str = HEADER_OPTION
) -> list[tuple[str, str]]:
    headers = list(extra_headers)
    for name, value in headers:
        check_header(name, value, option)
    return headers


def build_request(
    target: RequestTarget, key: bytes, extra_headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A complete opening handshake request (RFC 6455 §4.1), CR LF line endings, always
    well-formed: the key and every extra header are checked (RequestError, option "--ws-key"
    or "-H"), the target was when it was made. An extra header named like one of ours
    replaces it rather than adding a second one. A user and password in the URL are sent as
    'Authorization: Basic' (RFC 7617), as curl sends them, unless an extra header gives
    Authorization itself.
    """
    check_key(key)
    extra = _headers_checked(extra_headers)
    given = {name.lower() for name, _ in extra}
    ours = [("Host", target.host_header)]
    if target.authorization is not None:
        ours.append(("Authorization", target.authorization))
    ours += [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key.decode("ascii")),
        ("Sec-WebSocket-Version", "13"),
    ]
    headers = [(name, value) for name, value in ours if name.lower() not in given] + extra
    lines = [f"GET {target.path} HTTP/1.1", *(f"{n}: {v}" for n, v in headers), "", ""]
    return "\r\n".join(lines).encode("ascii")


def build_probe_request(
    target: RequestTarget,
    key: bytes,
    headers: Sequence[tuple[str, str]] = (),
    *,
    origin: str | None = None,
    protocols: Sequence[str] = (),
    extensions: Sequence[str] = (),
) -> bytes:
    """Our request with what the options offer, where a header the user gives (-H) replaces
    ours of the same name rather than adding a second one. Every value is checked first and a
    RequestError names the option it came from: -H, --origin, --protocol, --extension,
    --ws-key."""
    checked = _headers_checked(headers)
    if origin:
        check_origin(origin)
    check_protocols(protocols)
    for extension in extensions:
        check_extension(extension)
    check_key(key)
    offered = [("Origin", origin)] if origin else []
    offered += [("Sec-WebSocket-Protocol", ", ".join(protocols))] if protocols else []
    if extensions:
        offered.append(("Sec-WebSocket-Extensions", ", ".join(e.strip(" \t") for e in extensions)))
    given = {name.lower() for name, _ in checked}
    kept = [(name, value) for name, value in offered if name.lower() not in given]
    return build_request(target, key, [*kept, *checked])


def build_response(key: bytes) -> bytes:
    """A complete 101 Switching Protocols response to `key` (RFC 6455 §4.2.2), CR LF endings."""
    accept = accept_for(key).decode()
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept}",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def probe_request(
    url: str,
    headers: Iterable[str] = (),
    *,
    origin: str | None = None,
    protocols: Sequence[str] = (),
    extensions: Sequence[str] = (),
    key: str | None = None,
) -> tuple[RequestTarget, bytes]:
    """The target and the request `probe` sends, from its options as given: `headers` as
    'Name: value' texts, `key` the --ws-key (else a fresh one). Anything that would make the
    request malformed is a RequestError naming its option, before any connection."""
    target = RequestTarget(url)
    # as the OS passed the argument: bytes that are not UTF-8 came in as surrogate escapes
    nonce = key.encode("utf-8", "surrogateescape") if key is not None else generate_keys(1)[0]
    given = [parse_header_option(header) for header in headers]
    request = build_probe_request(
        target, nonce, given, origin=origin, protocols=protocols, extensions=extensions
    )
    return target, request
