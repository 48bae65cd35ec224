"""What `wsaccept serve` prints: the URL it listens on (the first line, for scripts), each
connection's report, the fault list, and the scoreboard of --check-client; plus its JUnit XML.

A connection is shown as a handshake report through the session's own renderer (plain, rich),
so it looks like every other report; in JSON it is that report's record with the fields of
serve added. Everything from a peer passes the display boundary (`ui.text`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.frame_faults import ALL_FAULTS
from wsaccept_cli.core.served import relay_report, serve_report
from wsaccept_cli.ui.layout import hanging
from wsaccept_cli.ui.text import json_safe, shown

if TYPE_CHECKING:
    from wsaccept_cli.core.faults import Fault
    from wsaccept_cli.core.kept import ClientOutput
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.core.secrets import Redactor
    from wsaccept_cli.core.served import ScoreRow, ServedConnection
    from wsaccept_cli.ui.session import Counts, Rendered, Session

_STYLES = {"pass": "green", "fail": "red", "skip": "yellow"}


def _record(record: dict[str, Any]) -> bytes:
    encoded = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return json_safe(encoded).encode("utf-8", "backslashreplace") + b"\n"


def _counts(failed: bool) -> Counts:
    from wsaccept_cli.ui.session import Counts

    counts = Counts()
    counts.results = 1
    counts.failed = int(failed)
    return counts


def listening(session: Session, url: str) -> Rendered:
    """The first line: the URL (in JSON, an object holding it)."""
    if session.spec.fmt == "json":
        return _record({"event": "listening", "url": url}), [], _counts(False)
    return f"{url}\n".encode(), [], _counts(False)


def connection_report(connection: ServedConnection) -> HandshakeReport:
    if connection.upstream is not None:
        return relay_report(connection)
    return serve_report(connection)


def connection(session: Session, served: ServedConnection, show_secrets: bool = False) -> Rendered:
    """One connection, as its report; credentials redacted unless `show_secrets`."""
    report = connection_report(served)
    redactor = None if show_secrets else served_redactor(served)
    if redactor is not None:
        for finding in report.findings:
            finding.message = redactor.redact_text(finding.message)
    if session.spec.fmt == "json":
        record = connection_record(served, report, redactor)
        return _record(record), [], _counts(report.verdict == "fail")
    rendering = session.rendering()
    rendering.handshake(report)
    return rendering.take()


def served_redactor(served: ServedConnection) -> Redactor:
    """What a client sent (Authorization, Proxy-Authorization, Cookie) and what the server set
    (Set-Cookie values) kept out of every output format, as `probe` keeps them: the header
    values themselves, and the same secrets wherever else they are echoed."""
    from wsaccept_cli.core.secrets import Redactor, message_secrets

    found = message_secrets(_crlf(served.request_bytes))
    for line in _crlf(served.response_bytes).split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"set-cookie":
            found.append(value.split(b";", 1)[0].partition(b"=")[2].strip())
    return Redactor(found)


def _crlf(head: bytes) -> bytes:
    """A head with bare LF line endings as CR LF ones, for the header readers of core.secrets."""
    return head.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def connection_record(
    served: ServedConnection, report: HandshakeReport, redactor: Redactor | None = None
) -> dict[str, Any]:
    text = _text
    request, response, detail = (
        served.request_bytes,
        served.response_bytes,
        served.how or served.error,
    )
    if redactor is not None:
        request, response = redactor.redact(request), redactor.redact(response)
        detail = redactor.redact_text(detail) if detail else detail
    return {
        "event": "connection",
        **report.as_dict(),
        "peer": served.peer,
        "fault": served.fault.name if served.fault is not None else None,
        "fault_applied": served.fault is not None and served.skipped is None,
        "client": served.behaviour,
        "client_detail": detail,
        "correct": _correct(served) if served.upstream is None else None,
        "upstream": served.upstream,
        "request": text(request),
        "response": text(response),
        "bytes_from_client": served.sent,
        "bytes_from_server": served.received,
    }


def _text(head: bytes) -> list[str]:
    lines = head.decode("utf-8", "backslashreplace").replace("\r\n", "\n").split("\n")
    while lines and not lines[-1]:
        lines.pop()
    return lines


# The scoreboard's first column: as wide as the longest fault name (or `request`), so that
# the columns line up whatever the row.
NAME_WIDTH = max(len(fault.name) for fault in ALL_FAULTS) + 1


def fault_list(session: Session, faults: Sequence[Fault]) -> Rendered:
    """--list-faults: each fault, what a correct client must do, what the server does, why."""
    if session.spec.fmt == "json":
        out = b"".join(
            _record(
                {
                    "fault": f.name,
                    "stage": f.stage,
                    "section": f.section,
                    "correct": f.expect_text,
                    "does": f.does,
                    "why": f.why,
                }
            )
            for f in faults
        )
        return out, [], _counts(False)
    width = max(len(fault.name) for fault in faults)
    correct = max(len(fault.expect_text) for fault in faults)
    groups = []
    for stage, heading in FAULT_STAGES:
        lines = [
            f"{f.name:{width}}  {f.expect_text:{correct}}  {f.does}\n"
            f"{'':{width}}  {'':{correct}}  {f.why}"
            for f in faults
            if f.stage == stage
        ]
        if lines:
            groups.append("\n".join([heading, *lines]))
    return ("\n\n".join(groups) + "\n").encode(), [], _counts(False)


# --list-faults shows each stage apart, under its heading
FAULT_STAGES = (
    ("handshake", "Handshake faults (the 101 is wrong; RFC 6455 §4.1):"),
    ("frame", "Frame faults (a correct 101, then these frames; the client's answer on the wire):"),
)


ERROR_LINES = 3  # of a failed run's stderr, under its row
ERROR_WIDTH = 200  # characters of each


def run_notes(row: ScoreRow, output: ClientOutput | None) -> list[str]:
    """The lines under a row: the last lines of a failed client's stderr (why curl, or a
    missing command, failed), and the processes the client left running."""
    if output is None:
        return []
    notes = []
    if row.status == "fail":
        notes += [f"stderr: {line}" for line in output.stderr.last_lines(ERROR_LINES)]
    killed = [str(pid) for pid, done in output.left if done]
    alive = [str(pid) for pid, done in output.left if not done]
    outside = "which the client left running outside its process group"
    if killed:
        notes.append(f"killed {_processes(killed)}, {outside}")
    if alive:
        notes.append(f"{_processes(alive)}, {outside}, could not be killed: still running")
    return notes


def _processes(pids: list[str]) -> str:
    return f"process{'es' if len(pids) > 1 else ''} {', '.join(pids)}"


def score_row(session: Session, row: ScoreRow, output: ClientOutput | None = None) -> Rendered:
    """One scoreboard line, as the run ends; under a failed one, the last lines of the
    client's stderr (escaped, cut, dimmed at a terminal)."""
    failed = row.status == "fail"
    notes = run_notes(row, output)
    if session.spec.fmt == "json":
        record = {"event": "score", **row.as_dict(), "notes": notes}
        return _record(record), [], _counts(failed)
    name = f"{row.name:{NAME_WIDTH}}"
    rest = f"  {name} correct: {row.expect:6}  client: {row.did:8}  {shown(row.detail)}"
    below = [f"{'':6}{shown(note, ERROR_WIDTH)}" for note in notes]
    if session.spec.fmt == "rich":
        from rich.text import Text

        from wsaccept_cli.ui.render_rich import RichRenderer

        renderer = RichRenderer(color=session.spec.color, terminal=session.spec.terminal)
        width = renderer.console.width
        # The detail and the notes wrapped under their column (hanging indents), never mid-word.
        head = f"{row.status:4}  {name} correct: {row.expect:6}  client: {row.did:8}  "
        if len(head.rstrip()) <= width:
            first, *more = hanging(head, shown(row.detail), width)
        else:  # too narrow for the columns: the row's own words wrap under the fault's name
            said = f"correct: {row.expect}  client: {row.did}"
            first, *more = hanging(f"{row.status:4}  {row.name} ", said, width)
            more += hanging(" " * 6, shown(row.detail), width)
        text = Text()
        text.append(f"{row.status:4}", style=_STYLES.get(row.status, ""))
        text.append(first[4:])
        text.append("".join(f"\n{line}" for line in more))
        for note in notes:
            # A line of the client's stderr hangs under itself, after its label.
            label = "stderr: " if note.startswith("stderr: ") else ""
            said = shown(note[len(label) :], ERROR_WIDTH)
            for line in hanging(f"{'':6}{label}", said, width, indent=6 + len(label)):
                text.append("\n")
                text.append(line, style="dim")
        renderer.console.print(text, soft_wrap=True)  # laid out here, not again by rich
        return renderer.buffer.take(), [], _counts(failed)
    return (
        "".join(f"{line}\n" for line in [f"{row.status:4}{rest}", *below]).encode(),
        [],
        _counts(failed),
    )


def score_summary(session: Session, rows: Sequence[ScoreRow]) -> Rendered:
    failed = [row.name for row in rows if row.status == "fail"]
    judged = [row for row in rows if row.status != "skip"]
    verdict = "fail" if failed else "pass"
    if session.spec.fmt == "json":
        record = {"event": "summary", "verdict": verdict, "checks": len(judged), "failed": failed}
        return _record(record), [], _counts(False)
    what = (
        f"{len(failed)} of {len(judged)} checks failed ({', '.join(failed)})"
        if failed
        else (f"all {len(judged)} checks passed")
    )
    return f"check-client: {verdict}: {what}\n".encode(), [], _counts(False)


def junit(
    rows: Sequence[ScoreRow], outputs: Sequence[ClientOutput], seconds: Sequence[float]
) -> bytes:
    """A JUnit XML report: one test case per fault, for CI systems to show."""
    from xml.etree import ElementTree

    failures = sum(row.status == "fail" for row in rows)
    skipped = sum(row.status == "skip" for row in rows)
    suite = ElementTree.Element(
        "testsuite",
        name="wsaccept serve --check-client",
        tests=str(len(rows)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{sum(seconds):.3f}",
    )
    for row, output, took in zip(rows, outputs, seconds):
        case = ElementTree.SubElement(
            suite, "testcase", classname="wsaccept.check-client", name=row.name, time=f"{took:.3f}"
        )
        message = f"correct client: {row.expect}; this client: {row.did} ({row.detail})"
        if row.status == "fail":
            failure = ElementTree.SubElement(case, "failure", message=_xml_text(message))
            failure.text = _xml_text(row.fault.why if row.fault is not None else message)
        elif row.status == "skip":
            ElementTree.SubElement(case, "skipped", message=_xml_text(row.detail))
        for tag, kept in (("system-out", output.stdout), ("system-err", output.stderr)):
            if kept:
                ElementTree.SubElement(case, tag).text = _xml_text(kept.text())
    body = ElementTree.tostring(suite, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry: other control characters as visible escapes."""
    return "".join(
        char
        if char in "\t\n\r" or 0x20 <= ord(char) < 0xD800 or 0xE000 <= ord(char) < 0xFFFE
        else repr(char)[1:-1]
        for char in text
    )


def _correct(served: ServedConnection) -> str:
    """What a correct client does, as the scoreboard and --list-faults say it (one string in
    every event): the fault's word, or `accept` for the correct answer."""
    if served.fault is None or served.skipped is not None:
        return "accept"
    return served.fault.expect_text
