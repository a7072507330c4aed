"""Recognise generators' own metadata among the text fields a container walk found.

The recognisers are declared by the generator families (`provenance.markers.families`, one
module per generator); this module runs them in their declared order over one file's fields,
and matches C2PA manifests against the names the families declare. Each recogniser consumes
the fields it explains, so they are not reported again as weak keywords
(`provenance.markers.weak`).
"""

from __future__ import annotations

from collections.abc import Sequence

from provenance.formats.base import Field
from provenance.markers.families import Families, active
from provenance.markers.fields import FieldScan
from provenance.model import Evidence


def generator_evidence(
    fields: Sequence[Field], store_prompts: bool = False, families: Families | None = None
) -> tuple[list[Evidence], set[int]]:
    """Evidence of known generators in `fields`, and the indexes of the fields it explains."""
    if not fields:  # most files: nothing for any recogniser to look at
        return [], set()
    scan = FieldScan(fields, store_prompts)
    for recognise in (families or active()).recognisers:
        recognise(scan)
    return scan.evidence, scan.consumed


# ------------------------------------------------------------------ C2PA generators
#
# Manifests that declare generation without an IPTC digital source type (written before the
# field existed, or by services that leave it out) still name the generator: in the claim
# generator, in an action's softwareAgent, or in vendor-namespaced generative-AI assertions or
# action parameters. Each family declares how it names itself (`C2paNames`); `c2pa/reader.py`
# applies them to every manifest.

_CREATING_ACTIONS = ("c2pa.created",)


def c2pa_generator_marks(
    claim_generators: Sequence[str],
    actions: Sequence[tuple[str, str, Sequence[str]]],
    assertion_labels: Sequence[str],
    families: Families | None = None,
) -> list[tuple[str, str, str]]:
    """(marker, tool, why) for each known generator one manifest names.

    `actions` are (action, softwareAgent, parameter keys). A generator named by the claim
    generator, a creating action or a vendor assertion made the content (`c2pa-generator:`);
    one named only by an editing action edited it with generative AI (`c2pa-generative-edit:`).
    """
    found: list[tuple[str, str, str]] = []
    for gen in (families or active()).c2pa:
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
