"""ComfyUI: its workflow and API prompt graphs, in PNG text, EXIF (UserComment in IFD0
or the Exif IFD, WebP Make/Model) and video comments."""

from __future__ import annotations

from typing import Any

from provenance.markers.families import Family, FileName, Keyword, register
from provenance.markers.fields import FieldScan, json_value

_COMFY_NODE_MARKS = ('"class_type"', '"nodes"')
_COMFY_MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name")


def _comfyui(scan: FieldScan) -> None:
    by_source: dict[str, dict[int, str]] = {}  # evidence source -> field index -> JSON
    for index, found in enumerate(scan.fields):
        key, value = found.key.lower(), found.value
        if found.source == "exif" and value.startswith(("prompt:{", "workflow:{")):
            by_source.setdefault(found.source, {})[index] = value.split(":", 1)[1]
        elif value[:1] == "{" and key in _COMFY_EXIF_KEYS:
            # Savers that put the graph in EXIF write it bare into UserComment (in the Exif IFD
            # or in IFD0), or wrapped as {"prompt": ..., "workflow": ...}: parse to be sure.
            if ("class_type" in value or "nodes" in value) and _is_comfy_graph(json_value(value)):
                by_source.setdefault(found.source, {})[index] = value
        elif value[:1] == "{" and any(mark in value for mark in _COMFY_NODE_MARKS):
            comment = key in ("comment", "©cmt", "description") and '"workflow"' in value
            if key in ("prompt", "workflow") or comment:
                by_source.setdefault(found.source, {})[index] = value
    for hits in by_source.values():
        summary, prompt = _comfy_summary(list(hits.values()))
        scan.add(hits, "generator:comfyui", "ComfyUI", summary, prompt)


_COMFY_EXIF_KEYS = ("usercomment", "imagedescription", "xpcomment")


def _is_comfy_graph(data: Any) -> bool:
    """A ComfyUI workflow ({"nodes": [...], "links": [...]}), an API prompt (node id -> node
    with a class_type), or a {"prompt": ..., "workflow": ...} wrapper of either."""
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("nodes"), list) and "links" in data:
        return True
    nodes = [node for node in data.values() if isinstance(node, dict)]
    if nodes and all("class_type" in node for node in nodes):
        return True
    return any(
        _is_comfy_graph(json_value(inner) if isinstance(inner, str) else inner)
        for inner in (data.get("prompt"), data.get("workflow"))
        if inner is not None and inner is not data
    )


def _comfy_summary(payloads: list[str]) -> tuple[str, str]:
    nodes = 0
    models: list[str] = []
    prompts: list[str] = []
    for payload in payloads[:4]:
        graph = json_value(payload)
        if isinstance(graph, dict) and isinstance(graph.get("prompt"), str | dict):
            inner = graph["prompt"]  # a video comment wrapping {"prompt": ..., "workflow": ...}
            graph = json_value(inner) if isinstance(inner, str) else inner
        if not isinstance(graph, dict):
            continue
        if isinstance(graph.get("nodes"), list):
            nodes = nodes or len(graph["nodes"])
            continue
        api_nodes = [node for node in graph.values() if isinstance(node, dict)]
        nodes = len(api_nodes)
        for node in api_nodes:
            inputs = node.get("inputs")
            if not isinstance(inputs, dict):
                continue
            for name in _COMFY_MODEL_INPUTS:
                value = inputs.get(name)
                if isinstance(value, str) and value not in models:
                    models.append(value)
            text = inputs.get("text")
            if isinstance(text, str) and "CLIPTextEncode" in str(node.get("class_type")):
                prompts.append(text)
    parts = [f"{nodes} node{'' if nodes == 1 else 's'}"] if nodes else []
    if models:
        parts.append("model " + ", ".join(models[:3]))
    return "; ".join(parts), " | ".join(prompts[:2])


register(
    Family(
        name="comfyui",
        tool="ComfyUI",
        markers={"generator:comfyui": "ai-generated"},
        recognise=_comfyui,
        order=20,
        keywords=(Keyword("comfyui", "ComfyUI", r"comfyui", r"comfyui", ("comfyui",), "ComfyUI"),),
        file_names=(
            FileName(
                "comfyui",
                "ComfyUI",
                r"ComfyUI(?:_[\w-]+)?_\d{5}_?\.\w+",
                "ComfyUI_00001_.png",
                "ComfyUI_00042_.png",
            ),
        ),
        fixtures={"generator:comfyui": ("generators/comfyui.png",)},
    )
)
