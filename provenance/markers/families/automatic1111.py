"""AUTOMATIC1111's `parameters` text and its forks (Forge, SD.Next), and the JSON
`parameters` that Fooocus and SwarmUI write in the same place."""

from __future__ import annotations

import re

from provenance.markers.families import Family, FileName, Keyword, register
from provenance.markers.fields import FieldScan, json_value

_SETTINGS_LINE = re.compile(r"(?:^|\n)(Steps: \d+,[^\n]*)")
_SETTING = re.compile(r'\s*([^:,"]{1,64}): ("(?:\\.|[^"\\]){0,1024}"|[^,]{0,1024})(?:,|$)')
_MAX_SETTINGS_LINE = 8192
_SUMMARY_SETTINGS = ("Steps", "Sampler", "Model", "Version")


def _parameters(scan: FieldScan) -> None:
    """AUTOMATIC1111 and its forks, Fooocus and SwarmUI: a 'parameters' text or UserComment."""
    fooocus_scheme = bool(scan.by_key.get("fooocus_scheme"))
    for index, found in enumerate(scan.fields):
        if index in scan.consumed:
            continue
        value = found.value
        if value[:1] == "{" and found.key.lower() in ("parameters", "usercomment", "comment"):
            _json_parameters(scan, index, fooocus_scheme)
            continue
        if "Steps: " not in value:
            continue
        lines = list(_SETTINGS_LINE.finditer(value))
        if not lines:
            continue
        line = lines[-1]
        settings = {
            m.group(1).strip(): m.group(2).strip('"')
            for m in _SETTING.finditer(line.group(1)[:_MAX_SETTINGS_LINE])
        }
        version = settings.get("Version", "")
        if fooocus_scheme or "fooocus" in version.lower():
            marker, tool = "generator:fooocus", "Fooocus"
        elif settings.get("App") == "SD.Next":
            marker, tool = "generator:automatic1111", "SD.Next"
        elif re.match(r"f\d", version):
            marker, tool = "generator:automatic1111", "Forge"
        else:
            marker, tool = "generator:automatic1111", "AUTOMATIC1111"
        summary = ", ".join(f"{k}: {settings[k]}" for k in _SUMMARY_SETTINGS if k in settings)
        prompt = value[: line.start(1)].split("\nNegative prompt:")[0].strip()
        scan.add([index, *scan.with_keys("fooocus_scheme")], marker, tool, summary, prompt)


def _json_parameters(scan: FieldScan, index: int, fooocus_scheme: bool) -> None:
    value = scan.fields[index].value
    if "sui_image_params" in value:
        data = json_value(value)
        params = data.get("sui_image_params") if isinstance(data, dict) else None
        params = params if isinstance(params, dict) else {}
        summary = ", ".join(
            f"{k} {params[k]}" for k in ("model", "steps", "sampler") if k in params
        )
        scan.add([index], "generator:swarmui", "SwarmUI", summary, str(params.get("prompt") or ""))
    elif fooocus_scheme or '"Fooocus' in value or "fooocus" in value[:2000].lower():
        data = json_value(value)
        data = data if isinstance(data, dict) else {}
        summary = ", ".join(
            f"{k}: {data[k]}" for k in ("Version", "Base Model", "Performance") if k in data
        )
        prompt = str(data.get("Prompt") or data.get("prompt") or "")
        scan.add(
            [index, *scan.with_keys("fooocus_scheme")],
            "generator:fooocus",
            "Fooocus",
            summary,
            prompt,
        )


register(
    Family(
        name="automatic1111",
        tool="AUTOMATIC1111",
        markers={"generator:automatic1111": "ai-generated"},
        recognise=_parameters,
        order=30,
        keywords=(
            Keyword(
                "automatic1111",
                "AUTOMATIC1111",
                r"automatic1111|stable-diffusion-webui",
                r"automatic1111",
                ("automatic1111", "stable"),
                "stable-diffusion-webui",
            ),
        ),
        file_names=(
            FileName(
                "automatic1111",
                "AUTOMATIC1111",
                r"\d{5}-\d{4,10}(?:-.*)?\.(?:png|jpe?g|webp|avif)",
                "00001-<seed>.png",
                "00012-3141592653.png",
            ),
        ),
        fixtures={"generator:automatic1111": ("generators/a1111.png", "generators/a1111.jpg")},
    )
)
