"""The provgate command line: thin click commands over the `provenance` library."""
