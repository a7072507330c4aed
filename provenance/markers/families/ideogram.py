"""Ideogram: its name."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="ideogram",
        tool="Ideogram",
        keywords=(
            Keyword(
                "ideogram",
                "Ideogram",
                r"ideogram",
                r"ideogram",
                ("ideogram",),
                "Ideogram 2.0",
            ),
        ),
    )
)
