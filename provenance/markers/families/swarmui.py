"""SwarmUI: `sui_image_params` JSON in `parameters` (read with AUTOMATIC1111's parameters)."""

from __future__ import annotations

from provenance.markers.families import Family, register

register(
    Family(
        name="swarmui",
        tool="SwarmUI",
        markers={"generator:swarmui": "ai-generated"},
        text_examples={
            "generator:swarmui": (
                ("parameters", '{"sui_image_params": {"model": "juggernaut", "steps": 30}}'),
            )
        },
    )
)
