"""What one service may take from another: its gRPC stub and events (`chirp.*`), and its public module.

Every module of `services/<a>/` is parsed, and every import in it (at the top, inside functions, under
TYPE_CHECKING, relative or absolute) is checked:

- `services.<a>.*` (its own code), `services.kit.*` (the runtime kit) and anything outside `services` (the
  generated `chirp.*` stubs and messages, the standard library, third-party packages) are allowed;
- of another service `services.<b>`, only `services.<b>.public` (a module, or a package and what is in it);
- the kit imports no service at all: services are built on it, not the other way round;
- a public module is what others import, so it takes nothing private of its own service either (else every
  importer would depend on that too): only itself (a `public/` package may use its own submodules).

A failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

KIT = "kit"
PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Crossing:
    """An import that takes from a service what it may not."""

    path: Path
    line: int
    statement: str
    target: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.statement}  ({self.target}: {self.why})"


def module_name(path: Path, root: Path) -> str:
    """The dotted name of the module in `path`, `root` being the folder that holds the `services` package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path) -> Iterator[tuple[ast.stmt, str]]:
    """Every (statement, module or name it takes) in the module at `path`, relative imports resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from services.graph import public` takes services.graph.public
                yield node, f"{base}.{alias.name}"


def why_not(importer: str, target: str) -> str | None:
    """Why the module `importer` may not import `target`, or None when it may."""
    mine, theirs = importer.split("."), target.split(".")  # importer: services.<a>.<module>...
    if theirs[0] != "services":
        return None
    if len(theirs) < 2:
        return "the whole of services: take one service's public module"
    own, owner = mine[1], theirs[1]
    if mine[2:3] == [PUBLIC] and owner == own and theirs[2:3] != [PUBLIC]:
        return f"private to {owner}: its public module takes nothing private, or its importers would too"
    if owner in (own, KIT):
        return None
    if own == KIT:
        return f"the kit imports no service ({owner} is built on the kit)"
    if theirs[2:3] == [PUBLIC]:
        return None
    return f"private to {owner}: take services.{owner}.{PUBLIC}, its gRPC stub or its events"


def crossings(root: Path) -> list[Crossing]:
    """Every forbidden import in the service packages below `root`/services."""
    found: list[Crossing] = []
    for path in sorted((root / "services").glob("*/**/*.py")):
        importer = module_name(path, root)
        for node, target in imports(path, root):
            why = why_not(importer, target)
            if why is not None:
                found.append(Crossing(path.relative_to(root), node.lineno, ast.unparse(node), target, why))
    return found


def test_no_service_takes_another_services_private_modules() -> None:
    found = crossings(REPO)
    assert not found, "imports across a service boundary:\n" + "\n".join(map(str, found))


def test_the_rule_is_checked_on_real_modules() -> None:
    # Each of these imports another service's public module today: the walk must see them, or it checks nothing.
    taken = {
        (module_name(path, REPO), target)
        for path in (REPO / "services").glob("*/**/*.py")
        for _, target in imports(path, REPO)
    }
    assert ("services.tweet.hydrate", "services.graph.public.can_see") in taken
    assert ("services.tweet.hydrate", "services.user.public.summary_of") in taken
    assert ("services.graph.service", "services.user.public.user_by_username") in taken


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"services/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("source", "line", "target"),
    [
        ("from services.graph.store import GraphStore\n", 1, "services.graph.store.GraphStore"),
        ("import grpc\nimport services.graph.store\n", 2, "services.graph.store"),
        ("from services.graph import store\n", 1, "services.graph.store"),
        ("from services.graph import can_see\n", 1, "services.graph.can_see"),  # a re-export of its __init__
        ("from services import graph\n", 1, "services.graph"),
        ("from ...graph.store import GraphStore\n", 1, "services.graph.store.GraphStore"),  # from tweet/sub/
        ("def later() -> None:\n    from services.graph.model import Relation\n", 2, "services.graph.model.Relation"),
        (
            "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from services.user.store import UserStore\n",
            4,
            "services.user.store.UserStore",
        ),
    ],
)
def test_an_import_of_a_private_module_is_named_with_file_and_line(
    tmp_path: Path, source: str, line: int, target: str
) -> None:
    root = _tree(
        tmp_path,
        {"services/tweet/__init__.py": "", "services/tweet/sub/__init__.py": "", "services/tweet/sub/x.py": source},
    )
    [found] = crossings(root)
    assert (str(found.path), found.line, found.target) == ("services/tweet/sub/x.py", line, target)
    statement = source.splitlines()[line - 1].strip()
    assert str(found) == f"services/tweet/sub/x.py:{line}: {statement}  ({target}: {found.why})"
    assert found.why.startswith("private to ")


def test_public_modules_stubs_the_kit_and_own_modules_are_allowed(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "services/tweet/__init__.py": "",
            "services/tweet/x.py": (
                "from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub\n"
                "from services.graph.public import can_see\n"
                "from services.graph import public\n"
                "import services.user.public.keys\n"
                "from services.kit import errors\n"
                "from services.tweet.store import TweetStore\n"
                "from . import store\n"
                "import grpc\n"
            ),
        },
    )
    assert crossings(root) == []


def test_the_kit_imports_no_service_not_even_its_public_module(tmp_path: Path) -> None:
    root = _tree(
        tmp_path, {"services/kit/__init__.py": "", "services/kit/x.py": "from services.graph.public import can_see\n"}
    )
    assert [c.target for c in crossings(root)] == ["services.graph.public.can_see"]


def test_a_public_module_takes_nothing_private_of_its_own_service(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "services/graph/__init__.py": "",
            "services/graph/public.py": "from services.graph.model import Relation\nfrom services.kit import errors\n",
            "services/user/__init__.py": "",
            "services/user/public/__init__.py": "from .keys import key\nfrom services.graph.public import can_see\n",
            "services/user/public/keys.py": "",
        },
    )
    found = [(str(c.path), c.target) for c in crossings(root)]
    assert found == [("services/graph/public.py", "services.graph.model.Relation")]
