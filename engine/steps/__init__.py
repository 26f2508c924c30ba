"""Step nodes: each step of a manifest as a typed, frozen node, built once.

:func:`engine.steps.build.step_tree` turns a manifest's ``steps:`` into nodes (one class
per step kind, each in its kind's module in :mod:`engine.steps.kinds`, on the base of
:mod:`engine.steps.nodes`), each with its JSON path and, through the source map, the
``line:col`` of any of its fields. The validator and the compiler walk these nodes;
neither reads the step mappings again.
"""
