"""Kling (Kuaishou): its name."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="kling",
        tool="Kling",
        keywords=(
            Keyword(
                "kling",
                "Kling",
                r"kling(?: ai)?",
                r"kling ai",
                ("kling",),
                "Kling AI",
            ),
        ),
    )
)
