"""Midjourney: the `Job ID: <uuid>` its Description ends with, and its file names."""

from __future__ import annotations

import re

from provenance.markers.families import Family, FileName, Keyword, register
from provenance.markers.fields import FieldScan

_JOB_ID = re.compile(r"Job ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _midjourney(scan: FieldScan) -> None:
    for index in scan.with_keys("description", "imagedescription", "comment"):
        if index in scan.consumed:
            continue
        match = _JOB_ID.search(scan.fields[index].value)
        if match:
            prompt = scan.fields[index].value[: match.start()].strip()
            summary = f"Midjourney Job ID {match.group(1)}"
            scan.add([index], "generator:midjourney", "Midjourney", summary, prompt)
            return


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

register(
    Family(
        name="midjourney",
        tool="Midjourney",
        markers={"generator:midjourney": "ai-generated"},
        recognise=_midjourney,
        order=50,
        keywords=(
            Keyword(
                "midjourney",
                "Midjourney",
                r"midjourney",
                r"midjourney",
                ("midjourney",),
                "Midjourney",
            ),
        ),
        file_names=(
            FileName(
                "midjourney",
                "Midjourney",
                rf"[^_\s]+_\S+_{_UUID}(?:_\d)?\.(?:png|webp|jpe?g)",
                "user_prompt_<job id>_<n>.png",
                "dana_a_lighthouse_0f3a9c2e-1d2b-4c5d-8e9f-0a1b2c3d4e5f_1.png",
            ),
        ),
        claim_words=("midjourney",),
        fixtures={"generator:midjourney": ("sample_media/stills/sh050_storyboard_midjourney.png",)},
    )
)
