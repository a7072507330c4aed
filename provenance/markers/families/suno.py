"""Suno (generated music): its name."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="suno",
        tool="Suno",
        keywords=(
            Keyword(
                "suno",
                "Suno",
                r"suno",
                r"suno ai",
                ("suno",),
                "Suno",
            ),
        ),
    )
)
