"""Luma Dream Machine: its name."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="luma",
        tool="Luma Dream Machine",
        keywords=(
            Keyword(
                "luma",
                "Luma Dream Machine",
                r"dream machine|luma ai",
                r"luma ai|dream machine",
                ("dream machine", "luma"),
                "Luma AI",
            ),
        ),
    )
)
