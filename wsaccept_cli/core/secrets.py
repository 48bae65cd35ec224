"""Credentials kept off the screen: what `probe` prints of the request it sent and the response
it got has the values of credential headers, and every copy of a credential we sent, replaced
by a marker, unless --show-secrets is given.

Two things are redacted, in one linear pass over the message each:

- the value of every `Authorization`, `Proxy-Authorization` and `Cookie` header line (RFC 9110
  §11.6.2, RFC 9110 §11.7.2, RFC 6265 §5.4), with its obs-fold continuation lines (RFC 9112
  §5.2), and the cookie *value* of every `Set-Cookie` line (RFC 6265 §4.1): the cookie's name
  and attributes stay, since `Secure`, `HttpOnly`, `SameSite` and `Path` are what one debugs,
  and a name is not a credential;
- every occurrence, anywhere (another header, a redirect's Location, a 400 body that echoes the
  request), of a secret we sent: each credential header value and the credentials inside it,
  the URL's password, its Basic credentials in base64 and decoded ('user:pass').

A secret shorter than MIN_SECRET_LENGTH bytes is not searched for in free text: a password 'a'
would otherwise turn every 'a' of the output into a marker, and one of 1 to 3 bytes is guessed
in moments anyway. Such a password is still hidden where it is sent (inside the base64 of
'user:pass', which is long enough) and inside every credential header's value.
"""

from __future__ import annotations

import base64
import binascii
import heapq
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsaccept_cli.core.request import RequestTarget
    from wsaccept_cli.core.rules import HandshakeReport

REDACTED = "[redacted; --show-secrets shows it]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
COOKIE_SETTING_HEADERS = frozenset({"set-cookie"})
# What every one of their names holds once lowercased (set-cookie holds cookie, and
# proxy-authorization authorization): str.lower maps characters one by one, so a text with a
# line whose name lowercases to one of them holds it lowercased too.
_NAME_CORES = ("cookie", "authorization")
MIN_SECRET_LENGTH = 4
MIN_PREFIX_LENGTH = 3  # the start of a secret at the very end of a cut message


def header_secrets(name: str | bytes, value: str | bytes) -> list[bytes]:
    """The secrets one header we send carries, each in the forms a server may echo it in:
    for Authorization and Proxy-Authorization the value and the credentials after the scheme
    (and for Basic the decoded 'user:pass' with its password, or its user name when the
    password is empty: then the name is the credential, as for a token); for Cookie the value
    and each cookie's value. Nothing for any other header."""
    lowered = (name.decode("latin-1") if isinstance(name, bytes) else name).strip(" \t").lower()
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    raw = raw.strip(b" \t")
    if lowered not in SECRET_HEADERS or not raw:
        return []
    found = [raw]
    if lowered == "cookie":
        for pair in raw.split(b";"):
            found.append(pair.partition(b"=")[2].strip(b" \t").strip(b'"'))
        return _unique(found)
    scheme, _, credentials = raw.partition(b" ")
    credentials = credentials.strip(b" \t")
    found.append(credentials)
    if scheme.lower() == b"basic":
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        user, _, password = decoded.partition(b":")
        found += [decoded, password or user, credentials.rstrip(b"=")]
    return _unique(found)


def message_secrets(message: bytes) -> list[bytes]:
    """The secrets carried by the header lines of a message we built (see header_secrets)."""
    head = message.split(b"\r\n\r\n", 1)[0]
    if not _may_name_a_secret_header(head.decode("latin-1")):
        return []  # no line of it can be a credential header
    found: list[bytes] = []
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            found += header_secrets(name, value)
    return _unique(found)


def request_secrets(request: bytes, target: RequestTarget | None = None) -> list[bytes]:
    """Every secret a request we built carries: those of its header lines (an Authorization or
    Cookie given with -H, the Basic credentials built from the URL) and those of the URL's
    user information, which are secrets even when a -H Authorization replaced them."""
    found = message_secrets(request)
    if target is not None:
        found += target.secrets
    return _unique(found)


def _unique(values: Iterable[bytes]) -> list[bytes]:
    return list(dict.fromkeys(value for value in values if value))


class Redactor:
    """Redaction with a fixed set of secrets, prepared once for many messages.

    `secrets` are bytes as sent; those shorter than MIN_SECRET_LENGTH are not searched for in
    free text (see the module's docstring). The repr never shows them.
    """

    def __init__(self, secrets: Iterable[bytes] = ()) -> None:
        wanted = _unique(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)
        self._bytes_needles = [_Needle(secret.decode("latin-1")) for secret in wanted]
        text_forms = [secret.decode("latin-1") for secret in wanted]
        for secret in wanted:
            try:
                text_forms.append(secret.decode("utf-8"))
            except UnicodeDecodeError:
                continue
        self._text_needles = [
            _Needle(form) for form in dict.fromkeys(text_forms) if len(form) >= MIN_SECRET_LENGTH
        ]

    def __repr__(self) -> str:
        return f"<Redactor of {len(self._bytes_needles)} secrets>"

    def redact(self, message: bytes) -> bytes:
        """`message` with credential header values and every secret replaced by REDACTED; the
        rest, line ends included, byte for byte as it was."""
        return _redact(message.decode("latin-1"), self._bytes_needles).encode("latin-1")

    def redact_text(self, text: str) -> str:
        """The same for text already decoded (a body line, a finding's message): a secret is
        looked for as Latin-1 and as UTF-8 text, the two ways wsaccept decodes bytes."""
        return _redact(text, self._text_needles)


class _Needle:
    """A secret to find, with its smallest period (from the KMP failure function), which lets
    overlapping occurrences be found without going back: linear in the text."""

    __slots__ = ("period", "tail", "text")

    def __init__(self, text: str) -> None:
        failure = [0] * len(text)
        matched = 0
        for index in range(1, len(text)):
            while matched and text[index] != text[matched]:
                matched = failure[matched - 1]
            if text[index] == text[matched]:
                matched += 1
            failure[index] = matched
        self.text = text
        self.period = len(text) - failure[-1]
        self.tail = text[len(text) - self.period :]

    def spans(self, haystack: str) -> Iterator[tuple[int, int]]:
        """The stretches of `haystack` covered by occurrences of the needle, overlapping ones
        included, in order.

        After an occurrence at `last`, another can start no sooner than `last + period` (two
        occurrences closer than the length are a period apart); one exactly there exists iff
        the `period` characters after the current end continue the needle's tail, a check of
        `period` characters that moves the end by as many. Otherwise str.find resumes at
        `last + period`: every character is looked at a bounded number of times, and
        CPython's find is itself linear (two-way) on long inputs.
        """
        size, period, tail = len(self.text), self.period, self.tail
        start = haystack.find(self.text)
        while start >= 0:
            last, end = start, start + size
            while haystack.startswith(tail, end):
                last, end = last + period, end + period
            yield start, end
            start = haystack.find(self.text, last + period)


_MARKER = _Needle(REDACTED)


def _header_spans(text: str) -> Iterator[tuple[int, int]]:
    """The stretches holding credential header values, line by line (LF or CR LF ends)."""
    position, length = 0, len(text)
    folding = False  # the line before was a credential header: a folded line continues it
    # (a folded Set-Cookie line is hidden whole: where its cookie-value starts is not known)
    while position < length:
        newline = text.find("\n", position)
        line_end = length if newline < 0 else newline
        content_end = (
            line_end - 1 if line_end > position and text[line_end - 1] == "\r" else line_end
        )
        if folding and text[position] in " \t":
            start = _skip_ows(text, position, content_end)
            if start < content_end:
                yield start, _trim_ows(text, start, content_end)
        else:
            folding = False
            colon = text.find(":", position, content_end)
            if colon > position:
                name = text[position:colon].strip(" \t").lower()
                start = _skip_ows(text, colon + 1, content_end)
                end = _trim_ows(text, start, content_end)
                if name in SECRET_HEADERS:
                    folding = True
                    if start < end:
                        yield start, end
                elif name in COOKIE_SETTING_HEADERS:
                    folding = True
                    yield from _cookie_value_span(text, start, end)
        position = line_end + 1


def _cookie_value_span(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The cookie-value of a Set-Cookie value 'name=value; attributes' (RFC 6265 §4.1.1); the
    whole first part when it has no '='."""
    pair_end = text.find(";", start, end)
    pair_end = end if pair_end < 0 else pair_end
    equals = text.find("=", start, pair_end)
    value_start = start if equals < 0 else _skip_ows(text, equals + 1, pair_end)
    value_end = _trim_ows(text, value_start, pair_end)
    if value_start < value_end:
        yield value_start, value_end


def _skip_ows(text: str, start: int, end: int) -> int:
    while start < end and text[start] in " \t":
        start += 1
    return start


def _trim_ows(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in " \t":
        end -= 1
    return end


def _redact(text: str, needles: list[_Needle]) -> str:
    """`text` with the credential header values and every needle's occurrences replaced, each
    run of overlapping or touching stretches by one REDACTED.

    A REDACTED already in the text counts as a stretch too, so a secret that happens to occur
    inside the marker ('secret' in '--show-secrets') is not redacted inside it: redacting
    twice gives what redacting once gives."""
    if not needles and REDACTED not in text and not _may_name_a_secret_header(text):
        return text  # nothing to look for, and nothing found (most finding messages)
    spans = heapq.merge(
        _MARKER.spans(text),
        _header_spans(text),
        *(needle.spans(text) for needle in needles),
        _cut_tail(text, needles),
    )
    out: list[str] = []
    written = 0
    run_start = run_end = -1
    for start, end in spans:
        if start <= run_end:
            run_end = max(run_end, end)
            continue
        if run_end >= 0:
            out += [text[written:run_start], REDACTED]
            written = run_end
        run_start, run_end = start, end
    if run_end < 0:
        return text
    out += [text[written:run_start], REDACTED, text[run_end:]]
    return "".join(out)


def _may_name_a_secret_header(text: str) -> bool:
    """Whether a credential header's name may occur in `text` (in any case): without one, no
    line of it is such a header. Two substring searches of the lowercased text, which cost a
    fraction of a case-blind regular expression's search."""
    lowered = text.lower()
    return _NAME_CORES[0] in lowered or _NAME_CORES[1] in lowered


def _cut_tail(text: str, needles: list[_Needle]) -> Iterator[tuple[int, int]]:
    """The end of `text` when it is the start of a secret: a head or body cut at its size
    limit may stop part way through one, and its first letters are a secret too."""
    longest = 0
    for needle in needles:
        secret = needle.text
        for length in range(
            min(len(secret) - 1, len(text)), max(longest, MIN_PREFIX_LENGTH - 1), -1
        ):
            if text.endswith(secret[:length]):
                longest = length
                break
    if longest:  # one stretch, so that the spans stay in order for heapq.merge
        yield len(text) - longest, len(text)


def redact_exchange(
    target: RequestTarget, request: bytes, response: bytes, report: HandshakeReport
) -> tuple[bytes, bytes]:
    """A probe's exchange as it may be printed: every credential the request carried, and the
    cookies the server set, redacted in the request, the response, and (changed in place) the
    report's response body and findings, where an echoing server or a redirect's Location may
    repeat them."""
    return redacted(Redactor(request_secrets(request, target)), request, response, report)


def redacted(
    redactor: Redactor, request: bytes, response: bytes, report: HandshakeReport
) -> tuple[bytes, bytes]:
    """The exchange and (changed in place) the report redacted by `redactor` (see
    redact_exchange)."""
    answer = report.handshake.response
    if answer is not None:
        answer.body = [redactor.redact_text(line) for line in answer.body]
    for finding in report.findings:
        finding.message = redactor.redact_text(finding.message)
    return redactor.redact(request), redactor.redact(response)
