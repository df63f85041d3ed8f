from __future__ import annotations

import importlib.util

from services.kit import registry


def test_every_entry_has_a_runnable_module_name_and_unique_port() -> None:
    loaded = registry.entries()
    assert [e.name for e in loaded][:3] == ["auth", "user", "graph"]
    assert len({e.port for e in loaded}) == len(loaded)
    services = {e.name for e in loaded if e.kind == "service"}
    for e in loaded:
        if e.kind == "service":
            assert e.module == f"services.{e.name}"
            assert e.proto.startswith(f"chirp.{e.name}.v1.")
        else:  # a worker lives inside the folder of the one service whose domain it serves
            top, owner, name = e.module.split(".")
            assert (top, name) == ("services", e.name), e.module
            assert owner in services, e.module
        assert importlib.util.find_spec(f"{e.module}.__main__") is not None, e.module


def test_services_excludes_workers() -> None:
    names = {e.name for e in registry.services()}
    assert "fanout" not in names
    assert {"auth", "tweet", "timeline", "dm"} <= names


def test_unknown_entry_is_named_in_the_error() -> None:
    try:
        registry.entry("nope")
    except KeyError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected KeyError")
