"""Udio (generated music): its name."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="udio",
        tool="Udio",
        keywords=(
            Keyword(
                "udio",
                "Udio",
                r"udio",
                r"udio\.com",
                ("udio",),
                "Udio",
            ),
        ),
    )
)
