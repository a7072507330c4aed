"""Stable Diffusion (Stability AI's models, run by many front ends): its name."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="stability",
        tool="Stable Diffusion",
        keywords=(
            Keyword(
                "stable-diffusion",
                "Stable Diffusion",
                r"stable[\s_-]?diffusion|sdxl",
                r"stable diffusion",
                ("stable", "sdxl"),
                "Stable Diffusion XL",
            ),
        ),
    )
)
