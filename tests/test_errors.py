"""The error tree drawn in strangler/errors.py is the real one, so the drawing cannot go stale.

Every module of strangler is imported (each subpackage keeps its errors in its own `errors`
module, and a module that fails to import would hide its classes), then the subclasses of
StranglerError are walked and held against the drawing: the same classes, each under the parent
and in the module drawn.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

import strangler
import strangler.errors
from strangler.errors import StranglerError

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
_BRANCH = re.compile(r"[├└]── (\w+)")
_MODULE = re.compile(r"\((strangler(?:\.\w+)*)\)\s*$")


@dataclass(frozen=True)
class Place:
    """Where a class sits in the tree: its parent (None for the root) and its module."""

    parent: str | None
    module: str


def optional_modules() -> set[str]:
    """The top-level modules of the library's extras (hypothesis, redis): a module that needs
    one may be skipped where it is not installed; any other import error is a broken module."""
    extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = [r for group in extras["optional-dependencies"].values() for r in group]
    names = (re.match(r"[A-Za-z0-9_.-]+", r) for r in requirements)
    return {name.group().lower().replace("-", "_") for name in names if name}


def import_everything() -> tuple[list[str], list[str]]:
    """Imports every module of strangler: (the modules skipped for a missing extra, failures)."""
    optional, skipped, failed = optional_modules(), [], []
    found = pkgutil.walk_packages(strangler.__path__, "strangler.", onerror=lambda _: None)
    for name in sorted(info.name for info in found):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] in optional:
                skipped.append(name)
            else:
                failed.append(f"{name}: {exc!r}")
        except Exception as exc:  # any fault at import is the finding
            failed.append(f"{name}: {exc!r}")
    return skipped, failed


def drawn_tree(docstring: str) -> dict[str, Place]:
    """The tree a docstring draws: a line naming the root class, then one line per class,
    `├── Name` or `└── Name`, five columns deeper per level, optionally ending in the class's
    `(module)`; a class drawn without one is in its parent's module. A line without a branch
    goes on with the description above it; a blank line ends the tree."""
    lines = docstring.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("StranglerError"))
    root = lines[start]
    root_column = len(root) - len(root.lstrip())
    root_module = _MODULE.search(root)
    tree = {"StranglerError": Place(None, root_module.group(1) if root_module else "")}
    ancestry = ["StranglerError"]  # the class drawn last at each depth
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        branch = _BRANCH.search(line)
        if branch is None:  # the description above goes on
            assert "──" not in line, f"not a branch of the tree: {line!r}"
            if module := _MODULE.search(line):
                tree[ancestry[-1]] = Place(tree[ancestry[-1]].parent, module.group(1))
            continue
        offset = branch.start() - root_column - 1
        assert offset >= 0, f"left of the root: {line!r}"
        assert offset % 5 == 0, f"not five columns per level: {line!r}"
        depth = offset // 5 + 1
        assert depth <= len(ancestry), f"deeper than its parent: {line!r}"
        name, parent = branch.group(1), ancestry[depth - 1]
        assert name not in tree, f"{name} drawn twice"
        module = _MODULE.search(line)
        tree[name] = Place(parent, module.group(1) if module else tree[parent].module)
        ancestry[depth:] = [name]
    return tree


def library_errors() -> list[type[StranglerError]]:
    """StranglerError and every subclass of it the library defines (a test's own are not)."""
    found: list[type[StranglerError]] = [StranglerError]
    for cls in found:  # grows as it goes: breadth first
        for sub in cls.__subclasses__():
            if sub.__module__.split(".")[0] == "strangler" and sub not in found:
                found.append(sub)  # met once, though a class with two error bases is seen twice
    return found


def real_tree(classes: list[type[StranglerError]]) -> dict[str, Place]:
    """Each class with the one parent that is itself a StranglerError (a second base such as
    OSError is not part of the tree)."""
    tree = {"StranglerError": Place(None, StranglerError.__module__)}
    for cls in classes[1:]:
        parents = [b for b in cls.__bases__ if issubclass(b, StranglerError)]
        assert len(parents) == 1, f"{cls.__qualname__} has {len(parents)} error parents"
        assert cls.__name__ not in tree, f"two error classes are called {cls.__name__}"
        tree[cls.__name__] = Place(parents[0].__name__, cls.__module__)
    return tree


def differences(drawn: dict[str, Place], real: dict[str, Place]) -> list[str]:
    """What to fix in the drawing, one sentence a class."""
    return [
        f"{name} is not drawn (it is under {real[name].parent}, in {real[name].module})"
        if name not in drawn
        else f"{name} is drawn but does not exist"
        if name not in real
        else f"{name} is drawn under {drawn[name].parent} in {drawn[name].module},"
        f" but is under {real[name].parent} in {real[name].module}"
        for name in sorted(drawn.keys() | real.keys())
        if drawn.get(name) != real.get(name)
    ]


@pytest.fixture(scope="module")
def skipped() -> list[str]:
    """The modules skipped for a missing extra, once every other module is imported (so every
    error class is defined)."""
    return import_everything()[0]


def test_every_module_of_strangler_imports() -> None:
    """Every module of the library imports; only one needing a missing extra may not."""
    skipped, failed = import_everything()
    assert not failed, "\n".join(failed)
    assert "strangler.errors" not in skipped


def test_the_drawn_error_tree_is_the_real_one(skipped: list[str]) -> None:
    """Each class drawn in strangler/errors.py exists under the parent and in the module drawn,
    and each error class of the library is drawn."""
    assert strangler.errors.__doc__
    drawn = drawn_tree(strangler.errors.__doc__)
    # A class in a module skipped for a missing extra cannot be checked here.
    checkable = {name: place for name, place in drawn.items() if place.module not in skipped}
    problems = differences(checkable, real_tree(library_errors()))
    assert not problems, "\n".join(problems)


@pytest.mark.usefixtures("skipped")
def test_every_error_says_when_it_is_raised() -> None:
    """Each error class of the library has a docstring of its own."""
    silent = [cls.__qualname__ for cls in library_errors() if not vars(cls).get("__doc__")]
    assert silent == []


@pytest.mark.usefixtures("skipped")
def test_each_errors_module_draws_its_own_classes() -> None:
    """A subpackage's errors module that draws its part of the tree draws every class it
    defines, each under its real parent, and no other."""
    real = real_tree(library_errors())
    modules = sorted({place.module for place in real.values()} - {"strangler.errors"})
    problems = []
    for name in modules:
        docstring = importlib.import_module(name).__doc__ or ""
        if "──" not in docstring:
            continue  # draws nothing: the tree in strangler/errors.py is enough
        drawn = drawn_tree(docstring)
        drawn = {n: Place(p.parent, name) for n, p in drawn.items() if n != "StranglerError"}
        defined = {n: p for n, p in real.items() if p.module == name}
        problems += [f"{name}: {line}" for line in differences(drawn, defined)]
    assert modules
    assert not problems, "\n".join(problems)


def test_the_drawing_is_read_by_depth_and_module() -> None:
    """A nested drawing gives each class its parent, and a module inherited from the parent."""
    drawing = """
    StranglerError                 (strangler.errors)
     ├── AError                    when a (strangler.a.errors)
     │    ├── BError               when b
     │    │    └── CError          when c, said on
                                   two lines (strangler.c)
     │    └── DError               when d
     └── EError                    when e

    A paragraph after the tree.
    """
    assert drawn_tree(drawing) == {
        "StranglerError": Place(None, "strangler.errors"),
        "AError": Place("StranglerError", "strangler.a.errors"),
        "BError": Place("AError", "strangler.a.errors"),
        "CError": Place("BError", "strangler.c"),
        "DError": Place("AError", "strangler.a.errors"),
        "EError": Place("StranglerError", "strangler.errors"),
    }
    with pytest.raises(AssertionError, match="five columns"):
        drawn_tree("StranglerError\n   ├── AError\n")
