"""NovelAI: its Software, Title/Source and Comment JSON chunks."""

from __future__ import annotations

from provenance.markers.families import Family, FileName, Keyword, register
from provenance.markers.fields import FieldScan, json_value


def _novelai(scan: FieldScan) -> None:
    anchors = [
        i for i in scan.with_keys("software") if scan.fields[i].value.lower().startswith("novelai")
    ]
    if not anchors:
        anchors = [
            i
            for i in scan.with_keys("title")
            if scan.fields[i].value == "AI generated image"
            and any(
                scan.fields[s].value.startswith(("Stable Diffusion", "NovelAI"))
                for s in scan.same_place(i, "source")
            )
        ]
    if not anchors:
        return
    group = scan.same_place(anchors[0], "software", "title", "source", "comment", "description")
    parts: list[str] = []
    prompt = ""
    for i in group:
        found = scan.fields[i]
        if found.key.lower() == "source":
            parts.append(f"Source: {found.value[:80]}")
        elif found.key.lower() == "comment":
            data = json_value(found.value)
            if isinstance(data, dict):
                parts.extend(f"{k} {data[k]}" for k in ("steps", "sampler") if k in data)
                prompt = prompt or str(data.get("prompt") or "")
        elif found.key.lower() == "description":
            prompt = found.value
    scan.add(group, "generator:novelai", "NovelAI", ", ".join(parts), prompt)


register(
    Family(
        name="novelai",
        tool="NovelAI",
        markers={"generator:novelai": "ai-generated"},
        recognise=_novelai,
        order=40,
        keywords=(Keyword("novelai", "NovelAI", r"novel\s?ai", r"novelai", ("novel",), "NovelAI"),),
        file_names=(
            FileName(
                "novelai",
                "NovelAI",
                r".+ s-\d{6,}\.png",
                "<prompt> s-<seed>.png",
                "a fox s-1234567.png",
            ),
        ),
        fixtures={"generator:novelai": ("generators/novelai.png",)},
    )
)
