"""Adobe Firefly: its name, its file names and its C2PA manifests (early ones name it only in
the claim generator or a vendor assertion)."""

from __future__ import annotations

from provenance.markers.families import C2paNames, Family, FileName, Keyword, register

register(
    Family(
        name="adobe",
        tool="Adobe Firefly",
        keywords=(
            Keyword(
                "firefly",
                "Adobe Firefly",
                r"firefly",
                r"adobe firefly",
                ("firefly",),
                "Adobe Firefly",
            ),
        ),
        file_names=(
            FileName(
                "firefly",
                "Adobe Firefly",
                r"Firefly[ _].*\.(?:png|jpe?g|webp)",
                "Firefly <prompt>.jpg",
                "Firefly a misty harbour.jpg",
            ),
        ),
        c2pa=(
            C2paNames(
                "firefly",
                "Adobe Firefly",
                claim_generators=("adobe_firefly", "adobe firefly"),
                agents=("adobe firefly",),
                vendor_labels=("com.adobe.firefly", "firefly.", "com.adobe.generative"),
            ),
        ),
        claim_words=("firefly",),
    )
)
