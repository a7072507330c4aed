"""Declared uses in the library: the scope and tool rules, and declarations in the store on
each backend (numbering, states, the chain)."""

from __future__ import annotations

import os

import pytest

from provenance.config import Policy
from provenance.errors import DeclarationError
from provenance.history import declarations as decl
from provenance.model import tool_matches
from provenance.names import shown
from provenance.stores import open_store

ODD = os.fsdecode(b"/show/sq02/sh020/plate_\xff\xfe.exr")  # a name that is not UTF-8


@pytest.mark.parametrize(
    ("kind", "value", "path", "covers"),
    [
        ("shot", "sh010", "/show/sq01/sh010/comp/v001.exr", True),
        ("shot", "SH010", "/show/sq01/sh010_comp_v001.1001.exr", True),
        ("shot", "sh010", "/show/sq01/sh0100/comp.exr", False),
        ("shot", "LH_010_0040", "/show/LH_010_0040/plate.dpx", True),
        ("sequence", "sq02", ODD, True),
        ("folder", "/show/sq02", ODD, True),
        ("folder", "/show/sq0", "/show/sq02/a.exr", False),
        ("folder", "/show/sq02", "/show/sq02", True),
        ("glob", "/show/*/sh020/*.exr", ODD, True),
        ("glob", "plate_*.exr", ODD, True),
        ("glob", "*.png", ODD, False),
        ("glob", "/show/sq01/*", "/show/sq01/sh010/a.png", True),  # * crosses folders
    ],
)
def test_a_scope_entry_covers_the_paths_its_kind_says(kind, value, path, covers):
    assert decl.ScopeEntry(kind, value).covers(path) is covers


def test_scope_entries_given_by_a_person_are_made_absolute_and_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert decl.ScopeEntry.make("folder", "sq01/").value == str(tmp_path / "sq01")
    assert decl.ScopeEntry.make("glob", "sq01/*.exr").value == str(tmp_path / "sq01/*.exr")
    assert decl.ScopeEntry.make("glob", "*.exr").value == "*.exr"
    with pytest.raises(DeclarationError, match="unknown scope kind 'episode'"):
        decl.ScopeEntry.make("episode", "101")
    with pytest.raises(DeclarationError, match="an empty shot"):
        decl.ScopeEntry.make("shot", "  ")


@pytest.mark.parametrize(
    ("named", "tool", "matches"),
    [
        ("Firefly", "Adobe Firefly Image 3", True),
        ("adobe firefly", "Adobe Firefly", True),
        ("Midjourney v7", "Midjourney v6", False),
        ("Midjourney", "midjourney-v7", True),
        ("Stable Diffusion", "ComfyUI", False),
        ("Runway", None, False),
        ("", "Runway", False),
    ],
)
def test_a_tool_name_names_a_tool_when_its_words_appear_together(named, tool, matches):
    assert tool_matches(named, tool) is matches


def test_the_cleared_list_flags_other_tools_and_unnamed_ones():
    assert Policy().tool_problem("Anything") is None  # no list kept
    policy = Policy(cleared_tools=("Firefly",))
    assert policy.tool_problem("Adobe Firefly Image 3") is None
    assert policy.tool_problem("ComfyUI") == "tool not cleared: ComfyUI (cleared: Firefly)"
    assert policy.tool_problem(None).startswith("tool not cleared: the AI tool is not named")


def test_a_path_that_is_not_utf8_is_shown_readably():
    assert shown(ODD) == "/show/sq02/sh020/plate_\\xff\\xfe.exr"


def test_declarations_are_numbered_changed_and_chained_on_each_backend(backend_workspace):
    policy = backend_workspace.config.policy
    scope = [decl.ScopeEntry("shot", "sh010")]
    with open_store(backend_workspace) as store:
        first = decl.declare(
            store, policy, tool="Firefly", purpose="sky", use="ideation", scope=scope, by="Jo"
        )
        second = decl.declare(
            store, policy, tool="Firefly", purpose="hero", use="vfx-final", scope=scope, by="Jo"
        )
        assert (first.reference, first.state) == ("D-0001", "noted")
        assert (second.reference, second.state) == ("D-0002", "needs-approval")
        changed = decl.change_state(store, "d-0002", "approve", by="Legal", written_reference="S-1")
        assert (changed.state, changed.state_by, changed.state_reference) == (
            "approved",
            "Legal",
            "S-1",
        )
        with pytest.raises(DeclarationError, match="is approved: cannot escalate it"):
            decl.change_state(store, "D-0002", "escalate", by="Jo")
        assert [d.reference for d in decl.list_declarations(store, "noted")] == ["D-0001"]
        kinds = [e["detail"]["state"] for e in decl.declaration_history(store, "D-0002")]
        assert kinds == ["needs-approval", "approved"]
        count, broken = store.verify_events()
        assert broken is None and count == 3
