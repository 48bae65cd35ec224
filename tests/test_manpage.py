"""The man page: written by hand, but it must name every command and option, and lint clean."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import click
import pytest

from wsaccept_cli import __version__
from wsaccept_cli.cli import cli, commands
from wsaccept_cli.core.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parent.parent
MAN_PAGE = ROOT / "man" / "wsaccept.1"
ROFF = MAN_PAGE.read_text()


def section(heading: str) -> str:
    """The roff source of the `.SS` or `.SH` section whose heading starts with `heading`."""
    match = re.search(
        rf'^\.S[SH] "?{re.escape(heading)}.*?$(.*?)(?=^\.S[SH] |\Z)', ROFF, re.M | re.S
    )
    assert match, f"the man page has no section {heading!r}"
    return match.group(1)


def roff(option: str) -> str:
    return option.replace("-", "\\-")


def options_of(command: click.Command) -> list[str]:
    ctx = click.Context(command, info_name=command.name, **cli.context_settings)
    names = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            names += param.opts + param.secondary_opts
    return names


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_of_every_command_is_documented_in_its_section(name: str) -> None:
    text = section(f"wsaccept {name}")
    missing = [o for o in options_of(commands()[name]) if roff(o) not in text]
    assert not missing, f"man page section 'wsaccept {name}' lacks {missing}"


def test_the_group_options_are_documented() -> None:
    text = section("Options of wsaccept itself")
    assert all(roff(o) in text for o in options_of(cli))


def test_every_command_is_in_the_synopsis() -> None:
    synopsis = section("SYNOPSIS")
    assert all(f".B wsaccept {name}" in synopsis for name in commands())


def test_exit_status_lists_every_code() -> None:
    text = section("EXIT STATUS")
    listed = sorted(int(code) for code in re.findall(r"^\.B (\d+)$", text, re.M))
    assert listed == sorted(code for name, code in vars(ExitCode).items() if name.isupper())


def test_environment_names_what_the_tool_reads() -> None:
    text = section("ENVIRONMENT")
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "_WSACCEPT_COMPLETE"):
        assert f".B {name}\n" in text


def test_required_sections_and_version() -> None:
    for heading in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "COMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "EXAMPLES",
        "STANDARDS",
        "SEE ALSO",
    ):
        section(heading)
    assert f'"wsaccept {__version__}"' in ROFF.splitlines()[0]


def needs(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install {tool}); .ci/run installs it")


def test_mandoc_lint_reports_nothing() -> None:
    needs("mandoc")
    result = subprocess.run(
        ["mandoc", "-T", "lint", "-W", "all", str(MAN_PAGE)], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_groff_reports_no_warnings() -> None:
    needs("groff")
    result = subprocess.run(
        ["groff", "-ww", "-z", "-man", str(MAN_PAGE)], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_man_renders_without_warnings() -> None:
    needs("man")
    env = {**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}
    result = subprocess.run(["man", "-l", str(MAN_PAGE)], capture_output=True, text=True, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert "wsaccept compute [KEY|-]..." in result.stdout


DATA_FILES = {
    "share/man/man1/wsaccept.1": MAN_PAGE,
    "share/bash-completion/completions/wsaccept": ROOT / "completions" / "wsaccept.bash",
    "share/zsh/site-functions/_wsaccept": ROOT / "completions" / "_wsaccept",
    "share/fish/vendor_completions.d/wsaccept.fish": ROOT / "completions" / "wsaccept.fish",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True,
    )  # fmt: skip
    (built,) = out.glob("wsaccept-*.whl")
    return built


def test_wheel_carries_the_man_page_and_completions(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for target, source in DATA_FILES.items():
            name = f"wsaccept-{__version__}.data/data/{target}"
            assert archive.read(name) == source.read_bytes(), name


def test_man_finds_the_page_in_an_activated_virtual_environment(
    wheel: Path, tmp_path: Path
) -> None:
    needs("man")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         str(wheel)],
        check=True,
    )  # fmt: skip
    activated = {**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"}
    activated.pop("MANPATH", None)
    found = subprocess.run(
        ["man", "-w", "wsaccept"], capture_output=True, text=True, env=activated, check=False
    )
    assert found.stdout.strip() == str(env_dir / "share" / "man" / "man1" / "wsaccept.1")


def test_wheel_metadata_is_complete(wheel: Path) -> None:
    # What a package found on an index shows: its licence (and the file), authors, links and
    # the Python versions it is tested on.
    with zipfile.ZipFile(wheel) as archive:
        info = f"wsaccept-{__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        licence = archive.read(f"{info}/licenses/LICENSE").decode()
    headers = metadata.split("\n\n")[0].splitlines()
    assert "License-Expression: MIT" in headers
    assert "License-File: LICENSE" in headers
    assert "Author: wsaccept contributors" in headers
    assert "Project-URL: Homepage, https://github.com/wsaccept/wsaccept" in headers
    assert "Project-URL: Issues, https://github.com/wsaccept/wsaccept/issues" in headers
    versions = [
        h.rsplit(" ", 1)[1]
        for h in headers
        if h.startswith("Classifier: Programming Language :: Python :: 3.")
    ]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 wsaccept contributors\n")
    assert licence == (ROOT / "LICENSE").read_text()


def test_wheel_carries_the_audit_page_template(wheel: Path) -> None:
    """audit --html reads its Jinja2 template from the package (not a .py file)."""
    with zipfile.ZipFile(wheel) as archive:
        page = archive.read("wsaccept_cli/ui/audit_page.html")
    assert page == (ROOT / "wsaccept_cli" / "ui" / "audit_page.html").read_bytes()
