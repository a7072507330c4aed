"""Leonardo.Ai: its name and its file names."""

from __future__ import annotations

from provenance.markers.families import Family, FileName, Keyword, register

register(
    Family(
        name="leonardo",
        tool="Leonardo.Ai",
        keywords=(
            Keyword(
                "leonardo",
                "Leonardo.Ai",
                r"leonardo(?:\.ai)?",
                r"leonardo\.ai",
                ("leonardo",),
                "Leonardo.Ai",
            ),
        ),
        file_names=(
            FileName(
                "leonardo",
                "Leonardo.Ai",
                r"Leonardo_(?:Diffusion|Phoenix|Kino|Vision|Lightning|Anime)\w*_.*",
                "Leonardo_<model>_<prompt>.jpg",
                "Leonardo_Phoenix_a_castle.jpg",
            ),
        ),
        claim_words=("leonardo",),
    )
)
