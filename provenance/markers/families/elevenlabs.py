"""ElevenLabs (synthetic voices): its name and its file names."""

from __future__ import annotations

from provenance.markers.families import Family, FileName, Keyword, register

register(
    Family(
        name="elevenlabs",
        tool="ElevenLabs",
        keywords=(
            Keyword(
                "elevenlabs",
                "ElevenLabs",
                r"eleven\s?labs",
                r"elevenlabs",
                ("eleven",),
                "ElevenLabs",
            ),
        ),
        file_names=(
            FileName(
                "elevenlabs",
                "ElevenLabs",
                r"ElevenLabs_\d{4}-\d{2}-\d{2}.*",
                "ElevenLabs_<date>_<voice>.mp3",
                "ElevenLabs_2025-03-01T10_00_00_Rachel.mp3",
            ),
        ),
    )
)
