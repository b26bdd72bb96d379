"""Issue 11, kept: every public service and selector takes keyword-only arguments after the first
and annotates every parameter and its return. A helper only its own module uses is named with a
leading underscore instead. Read with `ast`, so no module is imported."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(
    path.relative_to(ROOT).as_posix()
    for pattern in ("*/services.py", "*/selectors.py")
    for path in ROOT.glob(pattern)
)


def offenders(source: str) -> list[str]:
    """`name (line): problem; problem` for each public module-level function breaking the rule."""
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_"):
            continue
        arguments = node.args
        positional = arguments.posonlyargs + arguments.args
        problems = []
        if len(positional) > 1:
            problems.append("positional: " + ", ".join(argument.arg for argument in positional[1:]))
        every = positional + arguments.kwonlyargs + [arguments.vararg, arguments.kwarg]
        untyped = [argument.arg for argument in every if argument is not None and argument.annotation is None]
        if untyped:
            problems.append("untyped: " + ", ".join(untyped))
        if node.returns is None:
            problems.append("no return type")
        if problems:
            found.append(f"{node.name} (line {node.lineno}): {'; '.join(problems)}")
    return found


def test_the_rule_finds_each_kind_of_offence():
    source = (
        "def fine(first: int, *, second: str) -> None: ...\n"
        "def _private(a, b): ...\n"
        "def positional(a: int, b: int) -> None: ...\n"
        "def untyped(*, a, **rest) -> None: ...\n"
        "def no_return(a: int): ...\n"
    )
    assert offenders(source) == [
        "positional (line 3): positional: b",
        "untyped (line 4): untyped: a, rest",
        "no_return (line 5): no return type",
    ]


def test_every_app_has_its_services_and_selectors_checked():
    assert {"customers/services.py", "dunning/selectors.py", "invoices/services.py"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_public_functions_are_keyword_only_and_typed(module):
    found = offenders((ROOT / module).read_text())
    assert not found, f"{module}: make arguments after the first keyword-only and typed:\n" + "\n".join(found)
