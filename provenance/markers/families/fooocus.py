"""Fooocus: its `fooocus_scheme` parameters (read with AUTOMATIC1111's) and its Software tag."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register
from provenance.markers.fields import FieldScan


def _fooocus_software(scan: FieldScan) -> None:
    if "generator:fooocus" in scan.markers:
        return
    for index in scan.with_keys("software"):
        value = scan.fields[index].value
        if value.lower().startswith("fooocus"):
            scan.add([index], "generator:fooocus", "Fooocus", f"Software = {value[:60]!r}")
            return


register(
    Family(
        name="fooocus",
        tool="Fooocus",
        markers={"generator:fooocus": "ai-generated"},
        recognise=_fooocus_software,
        order=70,  # after the parameters recogniser, which may have found it already
        keywords=(Keyword("fooocus", "Fooocus", r"fooocus", r"fooocus", ("fooocus",), "Fooocus"),),
        text_examples={
            "generator:fooocus": (
                ("parameters", "cat\nSteps: 30, Sampler: DPM++ 2M, Version: Fooocus v2.1.865"),
                ("fooocus_scheme", "a1111"),
            )
        },
    )
)
