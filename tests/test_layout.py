"""The rules that keep the layout honest, checked on the source.

The library imports neither app (it knows them only by MODULE:ATTR), and nothing outside
`legacy/` imports it, since a migration ends by deleting `legacy/`. Inside the library, each
package imports only the layers below it (strangler/__init__.py draws them), so there is no
cycle, and the request path loads neither the admin app, Jinja2 nor YAML.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = {"app", "legacy", "migrated", "contract_tests", "tests"}


def imports(path: Path) -> Iterator[str]:
    """The top-level package of every module `path` imports."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


# The library's layers, bottom up: a package may import its own modules and any package of a
# lower layer, never one of its own layer or above. (The root package's lazy exports are the
# one exception: they import nothing until a name is used.)
LAYERS: list[set[str]] = [
    {"types", "errors", "compat"},  # compat imports no strangler package: see below
    {"credentials", "serving", "sandbox"},
    {"routing", "bridge"},
    {"flags"},
    {"comparison"},
    {"shadow"},
    {"metrics"},
    {"gateway", "rollout"},
    {"tracing"},  # the gateway with OpenTelemetry spans (the otel extra)
    {"settings"},
    {"report"},
    {"admin", "dashboard"},
    {"assembly"},
    {"cli", "contracts", "testing"},
    {"scaffold"},  # drafts ports: plays requests through the contract runner
    {"pytest_plugin"},
]
LIBRARY = REPO / "strangler"


def layer_of(package: str) -> int:
    for number, layer in enumerate(LAYERS):
        if package in layer:
            return number
    raise AssertionError(f"strangler.{package} is in no layer: add it to LAYERS")


def library_imports(path: Path, root: Path) -> Iterator[tuple[str, int]]:
    """Every strangler module `path` (below the library folder `root`) imports, anywhere in it
    (type-checking blocks and functions included: a late import is still a dependency)."""
    module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
        else:
            continue
        yield from ((name, node.lineno) for name in names if name.startswith("strangler."))


def package_of(module: str) -> str:
    """`strangler.flags.sqlite` -> `flags`; `strangler.assembly` -> `assembly`."""
    return module.split(".")[1]


def upward_imports(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == root / "__init__.py":
            continue  # the lazy exports
        here = package_of(".".join(path.relative_to(root.parent).with_suffix("").parts))
        for target, line in library_imports(path, root):
            there = package_of(target)
            if there != here and layer_of(there) >= layer_of(here):
                found.append(f"{path.relative_to(root.parent)}:{line}: {here} imports {target}")
    return found


def test_each_package_imports_only_lower_layers() -> None:
    """No module of the library imports a package of its own layer or above: no cycles."""
    assert len(list(LIBRARY.rglob("*.py"))) > 80
    assert upward_imports(LIBRARY) == []


# strangler.compat is for the port, which outlives legacy and may run without the gateway.
COMPAT_MAY_IMPORT = {"fastapi", "pydantic", "starlette", "werkzeug", "itsdangerous", "jwt"}
COMPAT_MAY_IMPORT |= {"strangler"}


def test_compat_imports_only_the_web_stack() -> None:
    """strangler.compat imports FastAPI (and Pydantic), Starlette, Werkzeug, itsdangerous, PyJWT,
    the standard library and itself: neither Flask, the gateway, nor any other strangler package."""
    found = {
        f"{path.relative_to(REPO)}: {name}"
        for path in (LIBRARY / "compat").rglob("*.py")
        for name in imports(path)
        if name not in COMPAT_MAY_IMPORT and name not in sys.stdlib_module_names
    }
    others = {
        f"{path.relative_to(REPO)}: {target}"
        for path in (LIBRARY / "compat").rglob("*.py")
        for target, _ in library_imports(path, LIBRARY)
        if package_of(target) != "compat"
    }
    assert found | others == set()


def test_every_package_has_a_layer() -> None:
    """A new package must be placed in a layer before it can be imported."""
    packages = {p.stem if p.is_file() else p.name for p in LIBRARY.iterdir()}
    packages = {p for p in packages if not p.startswith(("_", "."))} - {"py", "report.html"}
    for package in packages:
        if (LIBRARY / package).is_dir() or (LIBRARY / f"{package}.py").is_file():
            layer_of(package)


def test_the_layer_check_finds_an_upward_import(tmp_path: Path) -> None:
    """An import from a lower layer into a higher one is reported, with its file and line."""
    library = tmp_path / "strangler"
    (library / "flags").mkdir(parents=True)
    (library / "__init__.py").write_text("")
    (library / "flags" / "__init__.py").write_text("")
    (library / "flags" / "bad.py").write_text(
        "import json\n\ndef late():\n    from strangler.gateway.dispatch import Gateway\n"
    )
    assert upward_imports(library) == [
        "strangler/flags/bad.py:4: flags imports strangler.gateway.dispatch"
    ]


def test_the_request_path_loads_no_admin_app_templates_or_yaml() -> None:
    """Importing the gateway's request path loads neither the admin API, the dashboard,
    the settings, Jinja2, YAML, FastAPI nor the contract runner."""
    probe = (
        "import sys, strangler.gateway.dispatch;"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('jinja2', 'yaml', 'fastapi', 'hypothesis') or m.startswith(('strangler.admin',"
        " 'strangler.dashboard', 'strangler.settings', 'strangler.contracts',"
        " 'strangler.assembly', 'strangler.rollout', 'strangler.report')));"
        "assert not heavy, heavy"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (REPO / folder).rglob("*.py")]


def test_the_library_imports_no_app() -> None:
    """No module of strangler/ imports the example (or any app) by name."""
    found = {
        f"{path.relative_to(REPO)}: {name}"
        for path in python_files("strangler")
        for name in imports(path)
        if name in EXAMPLE
    }
    assert python_files("strangler")
    assert found == set()


def test_nothing_outside_legacy_imports_it() -> None:
    """Deleting legacy/ breaks no import: only legacy/ itself names it."""
    everywhere = python_files("strangler", "app", "migrated", "contract_tests", "tests", "scripts")
    found = {str(path.relative_to(REPO)) for path in everywhere if "legacy" in set(imports(path))}
    assert len(everywhere) > 50
    assert found == set()


def test_the_pytest_plugin_imports_nothing_heavy() -> None:
    """pytest loads the plugin in every project where strangler is installed: it must not pull
    in the web frameworks or Hypothesis, and every public name still resolves on use."""
    probe = (
        "import sys, strangler.pytest_plugin, strangler;"
        "heavy = [m for m in ('fastapi', 'starlette', 'flask', 'hypothesis', 'httpx')"
        " if m in sys.modules];"
        "assert not heavy, heavy;"
        "assert all(getattr(strangler, name) for name in strangler.__all__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
