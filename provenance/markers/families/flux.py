"""FLUX (Black Forest Labs): the reference CLI's EXIF Software and Make."""

from __future__ import annotations

import re

from provenance.markers.families import Family, Keyword, register
from provenance.markers.fields import FieldScan

_FLUX_SOFTWARE = re.compile(r"AI generated;\s*(?:txt2img|img2img)?;?\s*flux", re.I)


def _flux(scan: FieldScan) -> None:
    for index in scan.with_keys("software", "make"):
        found = scan.fields[index]
        flux = _FLUX_SOFTWARE.match(found.value) if found.key.lower() == "software" else None
        if flux or found.value.strip().lower() == "black forest labs":
            group = scan.same_place(index, "software", "make", "imagedescription")
            prompt = " ".join(
                scan.fields[i].value
                for i in group
                if scan.fields[i].key.lower() == "imagedescription"
            )
            summary = ", ".join(
                f"{scan.fields[i].key} = {scan.fields[i].value[:60]!r}"
                for i in group
                if scan.fields[i].key.lower() != "imagedescription"
            )
            scan.add(group, "generator:flux", "FLUX", summary, prompt)
            return


register(
    Family(
        name="flux",
        tool="FLUX",
        markers={"generator:flux": "ai-generated"},
        recognise=_flux,
        order=60,
        keywords=(
            Keyword(
                "flux",
                "FLUX",
                r"flux(?:\.\d)?|black forest labs",
                r"flux\.1|black forest labs",
                ("flux", "black forest"),
                "FLUX.1",
            ),
        ),
        fixtures={"generator:flux": ("sample_media/stills/sh060_bg_flux.jpg",)},
    )
)
