"""The layers, kept: data flows one way, from the pure core outwards to the commands.

Every import in the package is read from the source (including imports inside functions and
under TYPE_CHECKING), so a lazy import cannot hide a wrong direction or a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wsaccept_cli"

# What each layer may import from wsaccept itself.
ALLOWED = {
    "core": {"core"},
    "stream": {"core", "stream"},
    "net": {"core", "net"},
    "capture": {"core", "capture"},
    "ui": {"core", "ui"},
    "fastclick": {"ui"},
    "cli": {"cli", "core", "stream", "net", "capture", "ui", "fastclick", "completion", "package"},
    "completion": set(),
    "package": {"launch", "package"},
    "launch": {"cli"},
}
# Outside libraries and standard modules a layer must not touch: the core does no I/O and knows
# nothing of click or rich; the network code and the bulk path never print.
FORBIDDEN = {
    "core": {"click", "rich", "socket", "ssl", "select", "selectors", "subprocess", "threading",
             "multiprocessing", "concurrent", "signal", "sys", "io", "os", "pathlib", "shutil"},
    "stream": {"click", "rich", "socket", "ssl", "sys"},
    "net": {"click", "rich", "sys"},
    "capture": {"click", "rich", "socket", "ssl", "sys"},
    "ui": {"click", "socket", "ssl", "multiprocessing", "concurrent"},
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return "package"
    return parts[1]


def imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            assert node.module is not None
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def internal(module: str) -> set[str]:
    """The wsaccept modules `module` imports (a name imported from a module counts as that
    module, a submodule imported by name as the submodule)."""
    return {name for name in imports(MODULES[module]) if name in MODULES and name != module}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_layer_imports_only_the_layers_below_it(module: str) -> None:
    own = layer(module)
    wrong = {name for name in internal(module) if layer(name) not in ALLOWED[own]}
    assert not wrong, f"{module} ({own}) imports {sorted(wrong)}"


# The exceptions: fresh keys come from the OS's random source (os.urandom, RFC 6455 §4.1); the
# stderr labels and probe's progress lines are coloured by click.style (click is loaded already,
# rich would cost 30 ms of start-up), and use nothing else of click.
EXCEPTIONS = {
    "wsaccept_cli.core.keys": {"os"},
    "wsaccept_cli.ui.diagnostics": {"click"},
    "wsaccept_cli.ui.progress": {"click"},
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_core_does_no_io_and_nothing_prints_behind_the_ui(module: str) -> None:
    roots = {name.split(".")[0] for name in imports(MODULES[module])}
    wrong = roots & FORBIDDEN.get(layer(module), set()) - EXCEPTIONS.get(module, set())
    assert not wrong, f"{module} ({layer(module)}) imports {sorted(wrong)}"


def test_keys_use_os_only_for_its_random_source() -> None:
    source = MODULES["wsaccept_cli.core.keys"].read_text()
    attributes = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)]
    used = {node.attr for node in attributes if getattr(node.value, "id", None) == "os"}
    assert used == {"urandom"}


@pytest.mark.parametrize("module", ["wsaccept_cli.ui.diagnostics", "wsaccept_cli.ui.progress"])
def test_the_ui_uses_click_only_to_colour(module: str) -> None:
    source = MODULES[module].read_text()
    attributes = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)]
    assert {node.attr for node in attributes if getattr(node.value, "id", None) == "click"} == {
        "style"
    }
    assert "\\x1b" not in source  # no colour written by hand


def test_no_module_imports_itself_back_through_others() -> None:
    graph = {module: internal(module) - {"wsaccept_cli"} for module in MODULES}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            pytest.fail(f"import cycle: {' -> '.join(cycle)}")
        if module in done:
            return
        for name in sorted(graph[module]):
            visit(name, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_the_layers_are_what_the_package_holds() -> None:
    assert {layer(module) for module in MODULES} == set(ALLOWED)


# The commands' package: the group and one module per command, each importing the modules the
# commands share and the layers below, never another command (a change to one command touches
# its own module alone). wsaccept_cli/cli/__init__.py imports a command only when it runs.
SHARED_CLI = {"wsaccept_cli.cli.base", "wsaccept_cli.cli.options"}
CLI_MODULES = sorted(name for name in MODULES if name.startswith("wsaccept_cli.cli."))
COMMAND_MODULES = [name for name in CLI_MODULES if name not in SHARED_CLI]
MAX_COMMAND_MODULE_LINES = 400


@pytest.mark.parametrize("module", CLI_MODULES)
def test_a_command_module_imports_only_what_the_commands_share(module: str) -> None:
    own_package = {name for name in internal(module) if name.startswith("wsaccept_cli.cli")}
    assert own_package <= SHARED_CLI, f"{module} imports {sorted(own_package - SHARED_CLI)}"


def test_the_group_imports_no_command_until_it_runs() -> None:
    assert internal("wsaccept_cli.cli") & set(COMMAND_MODULES) == set()


def test_the_command_table_names_every_command_module() -> None:
    from wsaccept_cli.cli import COMMANDS, commands

    assert {f"wsaccept_cli.cli.{module}" for module, _summary in COMMANDS.values()} == set(
        COMMAND_MODULES
    )
    assert list(commands()) == list(COMMANDS)


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_command_modules_stay_small(module: str) -> None:
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_COMMAND_MODULE_LINES, f"{module}: {lines} lines; split it"
