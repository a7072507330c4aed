"""Microsoft Designer and Bing Image Creator: their name and their C2PA manifests (signed
by Microsoft's responsible-AI claim generator)."""

from __future__ import annotations

from provenance.markers.families import C2paNames, Family, Keyword, register

register(
    Family(
        name="microsoft",
        tool="Microsoft Designer / Bing Image Creator",
        keywords=(
            Keyword(
                "bing-image-creator",
                "Bing Image Creator",
                r"image creator",
                r"bing image creator",
                ("image creator",),
                "Image Creator from Designer",
            ),
        ),
        c2pa=(
            C2paNames(
                "microsoft-designer",
                "Microsoft Designer / Bing Image Creator",
                claim_generators=("microsoft_responsible_ai", "microsoft responsible ai"),
                agents=("image creator from designer", "bing image creator", "microsoft designer"),
            ),
        ),
        claim_words=("microsoft_responsible_ai", "designer"),
    )
)
