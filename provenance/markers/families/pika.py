"""Pika: its name."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="pika",
        tool="Pika",
        keywords=(
            Keyword(
                "pika",
                "Pika",
                r"pika(?: labs)?",
                r"pika labs",
                ("pika",),
                "Pika Labs",
            ),
        ),
    )
)
