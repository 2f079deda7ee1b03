"""What an install brings, checked on the source: every third-party distribution a module of the
library needs is required by the base install, or by the extra that offers that module, and
nothing more is (issue #22: `pip install 'strangler[contracts]'` answered the dashboard's login
with a 500, and did not bring the pytest its corpus items run in).

A module's needs are its imports (anywhere in it, not under `if TYPE_CHECKING:`), mapped to
distributions by this environment's `importlib.metadata.packages_distributions()`, plus what a
framework loads on the module's behalf (see `_framework_needs`). An import of a distribution no
requirement brings passes only when it is optional for real: inside `try`, with an `except
ImportError` that tells the user which extra to install.

tests/e2e/test_packaging.py builds the wheel and reads the same requirements in its METADATA.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "strangler"

# The parts of the library an extra offers; every other module is the base install's, always on
# (the dashboard, the admin API, the CLI but `contract` and `scaffold`). The longest matching path
# wins.
EXTRA_OF: dict[str, str] = {
    "strangler/contracts": "contracts",
    # pytest loads it (pytest11 entry point) to collect a corpus into strangler/contracts' items.
    "strangler/pytest_plugin.py": "contracts",
    "strangler/flags/redis.py": "redis",
    "strangler/tracing": "otel",
    "strangler/serving/gunicorn.py": "gunicorn",
    "strangler/compat/tokens.py": "jwt",
    # It drafts a port by playing requests through the contract runner (strangler/contracts).
    "strangler/scaffold": "contracts",
}
# Required though no module imports them: the legacy app the gateway fronts is a Flask app, which
# the library reads by duck typing (routing/inventory.py asks its url_map); the gunicorn extra's
# worker is run by the gunicorn program, which it requires at a version of its own.
FRONTED: dict[str | None, frozenset[str]] = {
    None: frozenset({"flask"}),
    "gunicorn": frozenset({"gunicorn"}),
}
# The app's own libraries, which the sandbox wraps where the app uses them (strangler/sandbox:
# its engines, its outbound clients) and never brings: a module may import them unrequired.
APPS_OWN: dict[str, frozenset[str]] = {
    "strangler/sandbox/sql.py": frozenset({"sqlalchemy"}),
    "strangler/sandbox/check.py": frozenset({"sqlalchemy"}),
    "strangler/sandbox/setup.py": frozenset({"sqlalchemy"}),
    "strangler/sandbox/outbound.py": frozenset({"requests"}),
}


@dataclass(frozen=True)
class Need:
    """One thing a module needs installed: the distributions that provide it (any one will do)."""

    distributions: frozenset[str]
    where: str  # file:line
    what: str  # the import, or what loads the distribution for it
    guard: str  # the source of an `except ImportError` around it, else ""


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares them: `PyYAML` and `pyyaml` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """`uvicorn[standard]>=0.30` -> `uvicorn`."""
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert found is not None, f"not a requirement: {requirement!r}"
    return normalized(found.group(1))


@cache
def declared() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The base install's requirements and each extra's, by name, from pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = frozenset(requirement_name(r) for r in project["dependencies"])
    extras = {
        extra: frozenset(requirement_name(r) for r in requirements)
        for extra, requirements in project["optional-dependencies"].items()
    }
    return base, extras


def extra_of(path: Path) -> str | None:
    """The extra that offers the module at `path`, or None: the base install."""
    relative = path.relative_to(REPO).as_posix()
    matches = [part for part in EXTRA_OF if relative == part or relative.startswith(part + "/")]
    return EXTRA_OF[max(matches, key=len)] if matches else None


def modules() -> list[Path]:
    return sorted(LIBRARY.rglob("*.py"))


@cache
def _distributions_of() -> dict[str, list[str]]:
    return packages_distributions()


def _distributions(module: str, where: str) -> frozenset[str]:
    found = _distributions_of().get(module)
    assert found, f"{where} imports {module}, which no installed distribution provides"
    return frozenset(normalized(name) for name in found)


@cache
def needs(path: Path) -> tuple[Need, ...]:
    """Everything the module at `path` needs installed at run time."""
    source = path.read_text(encoding="utf-8")
    return tuple(_visit(ast.parse(source), source, path.relative_to(REPO).as_posix(), guard=""))


def _visit(node: ast.AST, source: str, file: str, guard: str) -> Iterator[Need]:
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.orelse:  # the body is for the type checker alone
            yield from _visit(child, source, file, guard)
        return
    if isinstance(node, ast.Try | ast.TryStar):
        handlers = [h for h in node.handlers if _catches_import_error(h)]
        inner = "\n".join(ast.get_source_segment(source, h) or "" for h in handlers) or guard
        for child in node.body:
            yield from _visit(child, source, file, inner)
        for child in [*node.handlers, *node.orelse, *node.finalbody]:
            yield from _visit(child, source, file, guard)
        return
    where = f"{file}:{getattr(node, 'lineno', '?')}"
    imported: list[str] = []
    if isinstance(node, ast.Import):
        imported = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        imported = [node.module]
    for module in imported:
        top = module.split(".")[0]
        if top not in sys.stdlib_module_names and top != "strangler":
            yield Need(_distributions(top, where), where, f"import {module}", guard)
    for distribution, what in _framework_needs(node):
        yield Need(frozenset({distribution}), where, what, guard)
    for child in ast.iter_child_nodes(node):
        yield from _visit(child, source, file, guard)


# FastAPI's names for a form's fields: a route that declares one parses a form.
_FORM_PARAMETERS = {"Form", "File", "UploadFile"}


def _framework_needs(node: ast.AST) -> Iterator[tuple[str, str]]:
    """Distributions a framework imports on the module's behalf, when it uses them: Starlette
    parses a form (`await request.form()`, FastAPI's Form/File/UploadFile) with python-multipart,
    and answers 500 when it is missing."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "form"
    ):
        yield "python-multipart", "a form, parsed by .form(),"
    if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "fastapi":
        for alias in node.names:
            if alias.name in _FORM_PARAMETERS:
                yield "python-multipart", f"a form, parsed by fastapi.{alias.name},"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(
        isinstance(name, ast.Name) and name.id in ("ImportError", "ModuleNotFoundError")
        for name in names
    )


def _optional_for_real(need: Need, extras: dict[str, frozenset[str]]) -> bool:
    """Whether a missing distribution is handled: an extra brings it, and the `except
    ImportError` around the import tells the user to install that extra."""
    return any(
        need.distributions & requirements and f"strangler[{extra}]" in need.guard
        for extra, requirements in extras.items()
    )


def test_every_distribution_a_module_needs_comes_with_the_install_that_offers_it() -> None:
    """Each module's third-party needs are required by the base install, or by its extra."""
    base, extras = declared()
    missing = []
    for path in modules():
        extra = extra_of(path)
        brought = base | (extras[extra] if extra else frozenset())
        install = f"strangler[{extra}]" if extra else "strangler"
        own = APPS_OWN.get(path.relative_to(REPO).as_posix(), frozenset())
        for need in needs(path):
            if need.distributions & (brought | own) or _optional_for_real(need, extras):
                continue
            wanted = " or ".join(sorted(need.distributions))
            missing.append(f"{need.where}: {need.what} needs {wanted}, which {install} lacks")
    assert not missing, "\n".join(missing)


def test_the_install_and_each_extra_require_only_what_their_modules_need() -> None:
    """No requirement is there for nothing: each is needed by a module of its install."""
    base, extras = declared()
    used: dict[str | None, set[str]] = {extra: set(names) for extra, names in FRONTED.items()}
    for path in modules():
        for need in needs(path):
            used.setdefault(extra_of(path), set()).update(need.distributions)
    unneeded = {
        extra or "base": sorted(requirements - used.get(extra, set()))
        for extra, requirements in [(None, base), *extras.items()]
        if requirements - used.get(extra, set())
    }
    assert unneeded == {}


def test_every_extra_offering_a_part_exists_and_the_cli_names_the_same() -> None:
    """The parts named here exist, their extras are declared, and the CLI's lazily loaded
    commands say they need the extra this table gives their module."""
    from strangler.cli.main import _COMMANDS

    _, extras = declared()
    for part, extra in EXTRA_OF.items():
        assert (REPO / part).exists(), part
        assert extra in extras, f"{part}: no extra {extra!r} in pyproject.toml"
    for name, (module, _, extra) in _COMMANDS.items():
        path = REPO / (module.replace(".", "/") + ".py")
        assert extra_of(path) == extra, f"`strangler {name}` ({module}) says it needs {extra}"


def test_the_contracts_extra_keeps_hypothesis_below_6_170_10() -> None:
    """The contracts extra still caps Hypothesis below 6.170.10, whose internals changed
    under hypothesis-jsonschema 0.23.1 (strangler/contracts/schemas.py says so at run time)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    contracts = project["optional-dependencies"]["contracts"]
    (hypothesis,) = [r for r in contracts if requirement_name(r) == "hypothesis"]
    assert "<6.170.10" in hypothesis.replace(" ", "")


def test_a_form_and_a_guarded_import_are_read_as_their_module_needs(tmp_path: Path) -> None:
    """The reading itself: a form parse needs python-multipart; an import under TYPE_CHECKING
    needs nothing; a guarded import keeps its `except ImportError` for the check to read."""
    module = tmp_path / "sample.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import hypothesis\n"
        "async def login(request):\n"
        "    return await request.form()\n"
        "try:\n"
        "    import redis\n"
        "except ImportError:\n"
        "    raise SystemExit(\"pip install 'strangler[redis]'\")\n"
    )
    source = module.read_text()
    found = list(_visit(ast.parse(source), source, "sample.py", guard=""))
    assert [sorted(n.distributions) for n in found] == [["python-multipart"], ["redis"]]
    assert found[0].guard == ""
    assert "strangler[redis]" in found[1].guard
    assert _optional_for_real(found[1], {"redis": frozenset({"redis"})})
    assert not _optional_for_real(found[1], {"contracts": frozenset({"redis"})})
