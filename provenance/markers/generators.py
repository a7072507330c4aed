"""Recognise generators' own metadata among the text fields a container walk found.

Each recogniser looks for one generator's documented marks (see reference/ai-markers.md) and
consumes the fields it explains, so they are not reported again as weak keywords (`markers_weak`).
The details it writes summarise settings (steps, sampler, model) and never quote prompt text
unless the policy allows storing prompts: prompts may hold personal data or third-party IP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from provenance.formats.base import Field
from provenance.model import Evidence

_MAX_JSON = 2 * 1024 * 1024
_MAX_PROMPT = 300
_MAX_PER_MARKER = 4


class _Scan:
    """The fields of one file, the evidence made of them so far, and which fields it used."""

    def __init__(self, fields: Sequence[Field], store_prompts: bool) -> None:
        self.fields = fields
        self.store_prompts = store_prompts
        self.by_key: dict[str, list[int]] = {}
        for index, found in enumerate(fields):
            self.by_key.setdefault(found.key.lower(), []).append(index)
        self.consumed: set[int] = set()
        self.evidence: list[Evidence] = []
        self.markers: set[str] = set()

    def with_keys(self, *keys: str) -> list[int]:
        return sorted(i for key in keys for i in self.by_key.get(key, ()))

    def same_place(self, index: int, *keys: str) -> list[int]:
        """Fields with one of `keys` that sit where field `index` sits (same chunk family)."""
        where = self.fields[index].where
        return [i for i in self.with_keys(*keys) if self.fields[i].where == where]

    def add(
        self,
        indexes: Iterable[int],
        marker: str,
        tool: str | None,
        summary: str,
        prompt: str = "",
    ) -> None:
        used = sorted(set(indexes))
        self.consumed.update(used)
        self.markers.add(marker)
        if sum(e.marker == marker for e in self.evidence) >= _MAX_PER_MARKER:
            return  # a file repeating one mark a thousand times is reported a few times
        first = self.fields[used[0]]
        keys = ", ".join(dict.fromkeys(f"'{self.fields[i].key}'" for i in used))
        detail = f"{first.where} {keys}"
        if tool:
            detail += f" ({tool})"
        if summary:
            detail += f": {summary}"
        extra: dict[str, Any] = {}
        if prompt and self.store_prompts:
            prompt = " ".join(prompt.split())
            extra["prompt"] = prompt
            short = prompt if len(prompt) <= _MAX_PROMPT else prompt[:_MAX_PROMPT] + "..."
            detail += f"; prompt: {short!r}"
        self.evidence.append(
            Evidence(source=first.source, detail=detail, marker=marker, tool=tool, extra=extra)
        )


def generator_evidence(
    fields: Sequence[Field], store_prompts: bool = False
) -> tuple[list[Evidence], set[int]]:
    """Evidence of known generators in `fields`, and the indexes of the fields it explains."""
    if not fields:  # most files: nothing for any recogniser to look at
        return [], set()
    scan = _Scan(fields, store_prompts)
    for recognise in _RECOGNISERS:
        recognise(scan)
    return scan.evidence, scan.consumed


def _json(text: str) -> Any:
    if len(text) > _MAX_JSON:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _invokeai(scan: _Scan) -> None:
    found = scan.with_keys(
        "invokeai_metadata", "invokeai_workflow", "invokeai_graph", "sd-metadata", "dream"
    )
    if not found:
        return
    summary, prompt = "", ""
    for index in found:
        data = _json(scan.fields[index].value)
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


_COMFY_NODE_MARKS = ('"class_type"', '"nodes"')
_COMFY_MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name")


def _comfyui(scan: _Scan) -> None:
    by_source: dict[str, dict[int, str]] = {}  # evidence source -> field index -> JSON
    for index, found in enumerate(scan.fields):
        key, value = found.key.lower(), found.value
        if found.source == "exif" and value.startswith(("prompt:{", "workflow:{")):
            by_source.setdefault(found.source, {})[index] = value.split(":", 1)[1]
        elif value[:1] == "{" and key in _COMFY_EXIF_KEYS:
            # Savers that put the graph in EXIF write it bare into UserComment (in the Exif IFD
            # or in IFD0), or wrapped as {"prompt": ..., "workflow": ...}: parse to be sure.
            if ("class_type" in value or "nodes" in value) and _is_comfy_graph(_json(value)):
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
        _is_comfy_graph(_json(inner) if isinstance(inner, str) else inner)
        for inner in (data.get("prompt"), data.get("workflow"))
        if inner is not None and inner is not data
    )


def _comfy_summary(payloads: list[str]) -> tuple[str, str]:
    nodes = 0
    models: list[str] = []
    prompts: list[str] = []
    for payload in payloads[:4]:
        graph = _json(payload)
        if isinstance(graph, dict) and isinstance(graph.get("prompt"), str | dict):
            inner = graph["prompt"]  # a video comment wrapping {"prompt": ..., "workflow": ...}
            graph = _json(inner) if isinstance(inner, str) else inner
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


_SETTINGS_LINE = re.compile(r"(?:^|\n)(Steps: \d+,[^\n]*)")
_SETTING = re.compile(r'\s*([^:,"]{1,64}): ("(?:\\.|[^"\\]){0,1024}"|[^,]{0,1024})(?:,|$)')
_MAX_SETTINGS_LINE = 8192
_SUMMARY_SETTINGS = ("Steps", "Sampler", "Model", "Version")


def _parameters(scan: _Scan) -> None:
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


def _json_parameters(scan: _Scan, index: int, fooocus_scheme: bool) -> None:
    value = scan.fields[index].value
    if "sui_image_params" in value:
        data = _json(value)
        params = data.get("sui_image_params") if isinstance(data, dict) else None
        params = params if isinstance(params, dict) else {}
        summary = ", ".join(
            f"{k} {params[k]}" for k in ("model", "steps", "sampler") if k in params
        )
        scan.add([index], "generator:swarmui", "SwarmUI", summary, str(params.get("prompt") or ""))
    elif fooocus_scheme or '"Fooocus' in value or "fooocus" in value[:2000].lower():
        data = _json(value)
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


def _novelai(scan: _Scan) -> None:
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
            data = _json(found.value)
            if isinstance(data, dict):
                parts.extend(f"{k} {data[k]}" for k in ("steps", "sampler") if k in data)
                prompt = prompt or str(data.get("prompt") or "")
        elif found.key.lower() == "description":
            prompt = found.value
    scan.add(group, "generator:novelai", "NovelAI", ", ".join(parts), prompt)


_JOB_ID = re.compile(r"Job ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _midjourney(scan: _Scan) -> None:
    for index in scan.with_keys("description", "imagedescription", "comment"):
        if index in scan.consumed:
            continue
        match = _JOB_ID.search(scan.fields[index].value)
        if match:
            prompt = scan.fields[index].value[: match.start()].strip()
            summary = f"Midjourney Job ID {match.group(1)}"
            scan.add([index], "generator:midjourney", "Midjourney", summary, prompt)
            return


_FLUX_SOFTWARE = re.compile(r"AI generated;\s*(?:txt2img|img2img)?;?\s*flux", re.I)


def _flux(scan: _Scan) -> None:
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


def _fooocus_software(scan: _Scan) -> None:
    if "generator:fooocus" in scan.markers:
        return
    for index in scan.with_keys("software"):
        value = scan.fields[index].value
        if value.lower().startswith("fooocus"):
            scan.add([index], "generator:fooocus", "Fooocus", f"Software = {value[:60]!r}")
            return


def _stealth(scan: _Scan) -> None:
    for index, found in enumerate(scan.fields):
        if found.where == "PNG alpha channel":
            summary = f"hidden '{found.value}' payload in the alpha channel's low bits"
            scan.add([index], "generator:stealth-pnginfo", None, summary)


_RECOGNISERS: tuple[Callable[[_Scan], None], ...] = (
    _invokeai,
    _comfyui,
    _parameters,
    _novelai,
    _midjourney,
    _flux,
    _fooocus_software,
    _stealth,
)


# ------------------------------------------------------------------ C2PA generators
#
# Manifests that declare generation without an IPTC digital source type (written before the
# field existed, or by services that leave it out) still name the generator: in the claim
# generator, in an action's softwareAgent, or in vendor-namespaced generative-AI assertions or
# action parameters. One row per generator; `c2pa/reader.py` applies them to every manifest.


@dataclass(frozen=True)
class C2paGenerator:
    """How one generative service names itself in a C2PA manifest (lower-case prefixes)."""

    slug: str
    tool: str
    claim_generators: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    vendor_labels: tuple[str, ...] = ()  # assertion labels or action parameter keys


C2PA_GENERATORS: tuple[C2paGenerator, ...] = (
    C2paGenerator(
        "microsoft-designer",
        "Microsoft Designer / Bing Image Creator",
        claim_generators=("microsoft_responsible_ai", "microsoft responsible ai"),
        agents=("image creator from designer", "bing image creator", "microsoft designer"),
    ),
    C2paGenerator(
        "firefly",
        "Adobe Firefly",
        claim_generators=("adobe_firefly", "adobe firefly"),
        agents=("adobe firefly",),
        vendor_labels=("com.adobe.firefly", "firefly.", "com.adobe.generative"),
    ),
    # The ChatGPT claim generator also wraps uploads it only converted: the agent decides.
    C2paGenerator("openai", "OpenAI", agents=("dall·e", "dall-e", "gpt-4o", "gpt-image", "sora")),
)
_CREATING_ACTIONS = ("c2pa.created",)


def c2pa_generator_marks(
    claim_generators: Sequence[str],
    actions: Sequence[tuple[str, str, Sequence[str]]],
    assertion_labels: Sequence[str],
) -> list[tuple[str, str, str]]:
    """(marker, tool, why) for each known generator one manifest names.

    `actions` are (action, softwareAgent, parameter keys). A generator named by the claim
    generator, a creating action or a vendor assertion made the content (`c2pa-generator:`);
    one named only by an editing action edited it with generative AI (`c2pa-generative-edit:`).
    """
    found: list[tuple[str, str, str]] = []
    for gen in C2PA_GENERATORS:
        why = ""
        edited = ""
        claim = next(
            (c for c in claim_generators if c.lower().startswith(gen.claim_generators)), ""
        )
        if gen.claim_generators and claim:
            why = f"claim generator {claim!r}"
        for action, agent, keys in actions:
            named = bool(gen.agents) and agent.lower().startswith(gen.agents)
            by_params = bool(gen.vendor_labels) and any(
                k.lower().startswith(gen.vendor_labels) for k in keys
            )
            if not (named or by_params):
                continue
            what = f"{action} by {agent!r}" if named else f"{action} with {gen.tool} parameters"
            if action in _CREATING_ACTIONS:
                why = why or what
            else:
                edited = edited or what
        label = next(
            (
                a
                for a in assertion_labels
                if gen.vendor_labels and a.lower().startswith(gen.vendor_labels)
            ),
            "",
        )
        if label and not why:
            why = f"vendor assertion {label!r}"
        if why:
            found.append((f"c2pa-generator:{gen.slug}", gen.tool, why))
        elif edited:
            found.append((f"c2pa-generative-edit:{gen.slug}", gen.tool, edited))
    return found
