"""InvokeAI: its own metadata chunks (`invokeai_metadata`, `sd-metadata`, `dream`)."""

from __future__ import annotations

from provenance.markers.families import Family, Keyword, register
from provenance.markers.fields import FieldScan, json_value


def _invokeai(scan: FieldScan) -> None:
    found = scan.with_keys(
        "invokeai_metadata", "invokeai_workflow", "invokeai_graph", "sd-metadata", "dream"
    )
    if not found:
        return
    summary, prompt = "", ""
    for index in found:
        data = json_value(scan.fields[index].value)
        if isinstance(data, dict):
            model = data.get("model") or data.get("model_weights") or ""
            if isinstance(model, dict):
                model = model.get("name") or model.get("model_name") or ""
            parts = [
                f"{label} {value}"
                for label, value in (
                    ("mode", data.get("generation_mode")),
                    ("model", model),
                    ("app", data.get("app_version")),
                )
                if isinstance(value, str | int) and value
            ]
            summary = summary or ", ".join(parts)
            prompt = prompt or str(data.get("positive_prompt") or "")
    scan.add(found, "generator:invokeai", "InvokeAI", summary, prompt)


register(
    Family(
        name="invokeai",
        tool="InvokeAI",
        markers={"generator:invokeai": "ai-generated"},
        recognise=_invokeai,
        order=10,
        keywords=(
            Keyword(
                "invokeai", "InvokeAI", r"invoke\s?ai", r"invokeai", ("invoke",), "InvokeAI 3.4"
            ),
        ),
        fixtures={"generator:invokeai": ("generators/invokeai_v3.png",)},
    )
)
