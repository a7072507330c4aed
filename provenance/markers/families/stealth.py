"""stealth-pnginfo: generation parameters hidden in the low bits of an image's alpha channel
(found by the PNG walker, which reports them as a field)."""

from __future__ import annotations

from provenance.markers.families import Family, register
from provenance.markers.fields import FieldScan


def _stealth(scan: FieldScan) -> None:
    for index, found in enumerate(scan.fields):
        if found.where == "PNG alpha channel":
            summary = f"hidden '{found.value}' payload in the alpha channel's low bits"
            scan.add([index], "generator:stealth-pnginfo", None, summary)


register(
    Family(
        name="stealth-pnginfo",
        tool="stealth-pnginfo",
        markers={"generator:stealth-pnginfo": "ai-generated"},
        recognise=_stealth,
        order=80,
        fixtures={"generator:stealth-pnginfo": ("tests/fixtures/markers/stealth_pnginfo.png",)},
    )
)
