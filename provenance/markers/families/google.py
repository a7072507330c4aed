"""Google's generators (Imagen, Gemini's image generation, Veo): their names."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register

register(
    Family(
        name="google",
        tool="Google",
        keywords=(
            Keyword(
                "imagen",
                "Imagen",
                r"imagen",
                r"google imagen",
                ("imagen",),
                "Imagen 3",
            ),
            Keyword(
                "gemini",
                "Gemini",
                r"gemini",
                r"gemini(?: [\d.]+)?(?: flash)? image",
                ("gemini",),
                "Gemini",
            ),
            Keyword(
                "veo",
                "Veo",
                r"veo(?:\s?\d)?",
                r"google veo",
                ("veo",),
                "Veo 3",
            ),
        ),
        claim_words=("imagen", "gemini"),
    )
)
