"""provgate's library: reading and writing provenance tags, classification, policy, the store
and the delivery gate. It never imports click, never prints and never exits; see `api` for the
entry points an export script can call."""

__version__ = "0.1.0"
