"""Tools: the catalog of km_* tools, the bridge to them, what they take and answer."""
