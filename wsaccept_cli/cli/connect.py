"""connect: the handshake of `probe`, then a conversation: interactive at a terminal, lines of
stdin as messages in a pipe."""

from __future__ import annotations

import os
import select
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wsaccept_cli.cli.base import InputError, command, environment, start
from wsaccept_cli.cli.options import (
    connection_settings,
    finite_seconds,
    handshake_options,
    options,
    output_options,
    verbose_option,
)
from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.fastclick import FilePath

if TYPE_CHECKING:
    from wsaccept_cli.net.conversation import Conversation, Event
    from wsaccept_cli.net.endpoint import Checked
    from wsaccept_cli.ui.environment import Environment
    from wsaccept_cli.ui.session import Session

PROMPT = "> "
MAX_LINE = 16 * 1024 * 1024  # a stdin line longer than this is refused, not buffered forever


@command()
@click.argument("url")
@handshake_options
@options("ping", "show_secrets")
@click.option(
    "--binary",
    is_flag=True,
    help="Send each stdin line as a binary message: the line is its bytes in hex (spaces"
    " allowed) or base64.",
)
@click.option(
    "--send-file",
    type=FilePath(exists=True),
    metavar="FILE",
    help="Send FILE as one binary message first.",
)
@click.option(
    "--wait",
    type=float,
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    callback=finite_seconds,
    help="At the end of stdin, keep reading until SECONDS pass without a message; then close.",
)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    metavar="N",
    help="Close (1000) once N messages have come (at the end of stdin, wait for them).",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=16 * 1024 * 1024,
    show_default=True,
    metavar="BYTES",
    help="Refuse a larger incoming message with Close 1009.",
)
@verbose_option
@output_options
@click.pass_context
def connect(ctx: click.Context, /, url: str, **values: Any) -> None:
    """Open a WebSocket to URL, check its handshake as 'wsaccept probe' does, and talk.

    At a terminal each line typed is sent as a text message and what comes is shown as it
    arrives (direction, type, size, time since the start); /help lists the commands (/ping,
    /close, /binary, /send-file, /quit). In a pipe each line of stdin is a message and each
    message that comes is one line of stdout (a binary one as its size and hex), or with
    --format json every event is a JSON object (open, message, ping, pong, close, error).
    At the end of stdin it waits --wait seconds without a message, then closes with 1000
    and waits for the server's Close. --extension permessage-deflate offers compression,
    used when the server accepts it. A failed handshake is reported as probe reports it.

    \b
    Exit status: 0 a clean close (1000 or 1001, either side); 1 the
    handshake failed, or the connection ended abnormally (no Close frame,
    1006) or with a protocol error (1002, 1007, 1009 sent or received), or
    an input line could not be sent; 3 no connection; 4 TLS failed; 5
    timed out; 6 the proxy failed; 2 usage error; 130 Ctrl-C.

    \b
    Examples:
      echo hello | wsaccept connect ws://127.0.0.1:8080/echo
      echo '{"op":"sub"}' | wsaccept connect --count 1 --format json wss://example.com/ws
      wsaccept connect --extension permessage-deflate --ping 20 wss://example.com/ws
    """
    from wsaccept_cli.core.proxyenv import ProxyError
    from wsaccept_cli.core.request import RequestError
    from wsaccept_cli.net.conversation import Options, Talk
    from wsaccept_cli.net.endpoint import check
    from wsaccept_cli.ui.writer import GUARD

    talk_options = Options(
        max_size=values.pop("max_size"),
        ping=values.pop("ping"),
        count=values["count"],
        close_wait=min(values["timeout"], 5.0),
    )
    settings = connection_settings(environment(ctx).environ, values)
    session = start(ctx, values["fmt"], values["color"], verbose=values["verbose"])
    driver = Driver(session, environment(ctx), values)
    GUARD.install()  # here, in the main thread: the reader thread writes stdout too
    offer = ", ".join(values["extensions"])
    talk = Talk(offer, talk_options, driver.on_event, driver.drive)
    settings.after_upgrade = talk
    try:
        checked = check(url, settings)
    except (RequestError, ProxyError) as error:
        raise InputError(str(error)) from None
    if talk.conversation is None:  # the handshake failed: as probe reports it
        ctx.exit(report_as_probe(session, checked))
    driver.raise_broken_pipe()
    ctx.exit(driver.exit_code(talk.conversation))


def report_as_probe(session: Session, checked: Checked) -> int:
    from wsaccept_cli.ui.views import ProbeView

    session.tally.outcome = checked.outcome
    result = checked.result
    view = ProbeView(
        checked.request, checked.response, checked.report, checked.outcome,
        result.address, result.timings, checked.extra(), sent=result.sent,
    )  # fmt: skip
    rendering = session.rendering()
    rendering.probe(view)
    session.emit(rendering.take())
    code = session.finish("probe")
    return code if code != ExitCode.OK else ExitCode.CHECK_FAILED  # not upgraded: no talk


class Driver:
    """The CLI's side of the conversation: input (stdin lines, or a person at a terminal) in,
    events out through the ui."""

    def __init__(self, session: Session, env: Environment, values: dict[str, Any]) -> None:
        self.session = session
        self.env = env
        self.json = session.spec.fmt == "json"
        self.interactive = env.stdin_is_terminal() and env.stdout_is_terminal() and not self.json
        self.binary = values["binary"]
        self.send_file = values["send_file"]
        self.wait = values["wait"]
        self.count = values["count"]
        self.lock = threading.Lock()
        self.bad_lines = 0
        self.broken: BaseException | None = None
        self.readline: Any = None

    # --- events, from the I/O thread ---------------------------------------------------------

    def on_event(self, event: Event) -> None:
        from wsaccept_cli.ui.conversation import json_line, piped_line, terminal_line

        with self.lock:
            try:
                if self.json:
                    self.session.stdout.write(json_line(event))
                elif self.interactive:
                    self._show(terminal_line(event))
                else:
                    self.session.stdout.write(piped_line(event))
                    if event["event"] == "error":
                        self.session.diagnostics.say("error", None, event["message"])
            except (BrokenPipeError, OSError) as error:
                self.broken = self.broken or error
        if self.interactive and event["event"] == "close":
            os.kill(os.getpid(), signal.SIGUSR1)  # out of input(): the conversation is over

    def _show(self, line: str) -> None:
        """A line above the prompt, the prompt and what was typed redrawn under it."""
        typed = self.readline.get_line_buffer() if self.readline is not None else ""
        self.session.stdout.write(f"\r\x1b[K{line}\n{PROMPT}{typed}".encode())

    def raise_broken_pipe(self) -> None:
        if isinstance(self.broken, BrokenPipeError):
            raise self.broken
        if self.broken is not None:
            from wsaccept_cli.ui.writer import OutputError

            raise OutputError(f"cannot write output: {self.broken}")

    # --- input, in the main thread -----------------------------------------------------------

    def drive(self, conversation: Conversation) -> None:
        """Send what the user gives until the end, then close; Ctrl-C closes with 1001."""
        try:
            if self.send_file is not None:
                conversation.send_binary(Path(self.send_file).read_bytes())
            if self.interactive:
                self._interactive(conversation)
            else:
                self._piped(conversation)
                if self.count is not None:
                    conversation.ended.wait()
                else:
                    conversation.wait_quiet(self.wait)
        except KeyboardInterrupt:
            conversation.close_with(1001, "interrupted")
            conversation.finish()
            raise
        conversation.finish()

    def _piped(self, conversation: Conversation) -> None:
        fd = self.env.stdin_fd()
        if fd is None:
            return
        buffer = b""
        number = 0
        while not conversation.ended.is_set() and self.broken is None:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                number += 1
                self._send_line(conversation, line, number)
            if len(buffer) > MAX_LINE:
                number += 1
                self._bad(number, f"longer than {MAX_LINE} bytes; skipped")
                buffer = b""
        if buffer and not conversation.ended.is_set():
            self._send_line(conversation, buffer, number + 1)

    def _send_line(self, conversation: Conversation, line: bytes, number: int) -> None:
        from wsaccept_cli.core.binary import decode_binary

        line = line.removesuffix(b"\r")
        if self.binary:
            data = decode_binary(line)
            if data is None:
                self._bad(number, "neither hex nor base64; skipped")
            else:
                conversation.send_binary(data)
            return
        try:
            conversation.send_text(line.decode("utf-8"))
        except UnicodeDecodeError:
            self._bad(number, "not UTF-8, which a text message must be (RFC 6455 §5.6); skipped")

    def _bad(self, number: int, problem: str) -> None:
        self.bad_lines += 1
        with self.lock:
            self.session.diagnostics.say("error", f"stdin line {number}", problem)

    def _interactive(self, conversation: Conversation) -> None:
        from wsaccept_cli.ui.conversation import HELP

        try:
            import readline  # line editing and history (input() uses it once imported)

            self.readline = readline
        except ImportError:  # pragma: no cover - every Debian Python has it
            pass
        previous = signal.signal(signal.SIGUSR1, _conversation_over)
        self._show("/help lists the commands; Ctrl-D or /quit closes")
        try:
            while not conversation.ended.is_set():
                try:
                    line = input()
                except EOFError:
                    break
                if not self._command(conversation, line, HELP):
                    break
        except ConversationEndedError:
            pass
        finally:
            signal.signal(signal.SIGUSR1, previous)

    def _command(self, conversation: Conversation, line: str, help_text: str) -> bool:
        """Act on one typed line; False to quit."""
        from wsaccept_cli.core.binary import close_args, decode_binary

        name, _, rest = line.partition(" ")
        if not line.startswith("/") or line.startswith("//"):
            conversation.send_text(line[1:] if line.startswith("//") else line)
        elif name == "/quit":
            return False
        elif name == "/help":
            self._say(help_text)
        elif name == "/ping":
            data = rest.encode("utf-8")
            if len(data) > 125:
                self._say("error: a Ping carries at most 125 bytes (RFC 6455 §5.5)")
            else:
                conversation.ping(data or None)
        elif name == "/close":
            parsed = close_args(rest)
            if isinstance(parsed, str):
                self._say(f"error: {parsed}")
            else:
                conversation.close_with(*parsed)
                conversation.ended.wait(conversation.options.close_wait)
                return False
        elif name == "/binary":
            binary = decode_binary(rest.encode())
            if binary is None:
                self._say("error: /binary takes hex digits (spaces allowed), e.g. /binary 00ff")
            else:
                conversation.send_binary(binary)
        elif name == "/send-file":
            self._send_file(conversation, rest.strip())
        else:
            self._say(f"error: no command {name}; /help lists them (// sends a leading /)")
        return True

    def _send_file(self, conversation: Conversation, path: str) -> None:
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as error:
            self._say(f"error: cannot read {path!r}: {error.strerror or error}")
            return
        conversation.send_binary(data)

    def _say(self, text: str) -> None:
        from wsaccept_cli.ui.text import display

        with self.lock:
            for line in text.splitlines():
                self._show(display(line))

    # --- the end ---------------------------------------------------------------------------

    def exit_code(self, conversation: Conversation) -> int:
        from wsaccept_cli.ui.conversation import close_text

        close = conversation.close
        if not conversation.clean and close is not None and not self.json and not self.interactive:
            self.session.diagnostics.say("error", None, close_text(close))
        self.session.diagnostics.finish()
        if self.bad_lines:
            plural = "s" if self.bad_lines != 1 else ""
            self.session.diagnostics.summary(
                "error", f"{self.bad_lines} input line{plural} skipped"
            )
        return ExitCode.OK if conversation.clean and not self.bad_lines else ExitCode.CHECK_FAILED


class ConversationEndedError(Exception):
    """Raised in the main thread (by SIGUSR1 from the reader) to leave input()."""


def _conversation_over(signum: int, frame: object) -> None:
    raise ConversationEndedError
