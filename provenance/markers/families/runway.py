"""Runway (Gen-2, Gen-3, Gen-4): its name and its file names."""

from __future__ import annotations

from provenance.markers.families import Family, FileName, Keyword, register

register(
    Family(
        name="runway",
        tool="Runway",
        keywords=(
            Keyword(
                "runway",
                "Runway",
                r"runway(?:ml)?",
                r"runway\s?ml|runway gen-?\d",
                ("runway",),
                "RunwayML",
            ),
        ),
        file_names=(
            FileName(
                "runway",
                "Runway",
                r"Gen-[234]\w* .*\.(?:mp4|mov|png|jpe?g)",
                "Gen-3 Alpha <seed> <prompt>.mp4",
                "Gen-3 Alpha 1234 a storm at sea.mp4",
            ),
        ),
        claim_words=("runway",),
    )
)
