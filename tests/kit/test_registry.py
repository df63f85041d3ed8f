from __future__ import annotations

from services.kit import registry


def test_every_entry_has_a_runnable_module_name_and_unique_port() -> None:
    loaded = registry.entries()
    assert [e.name for e in loaded][:3] == ["auth", "user", "graph"]
    assert len({e.port for e in loaded}) == len(loaded)
    for e in loaded:
        assert e.module == f"services.{e.name}"
        if e.kind == "service":
            assert e.proto.startswith(f"chirp.{e.name}.v1.")


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
