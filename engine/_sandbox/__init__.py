"""The sandbox core that expressions and templates share.

Neither language runs code from a manifest: both read values through the same key and
method rules, measure every allocation against the run's limits with the same checks,
use the same operators and functions, and describe a missing name in the same words.
:mod:`engine.expressions` re-exports the public names; :mod:`engine.templates` builds its
filters on them.

- :mod:`~engine._sandbox.references`: problems, references and how a reference is written
- :mod:`~engine._sandbox.failures`: failures raised inside the sandbox, values described
- :mod:`~engine._sandbox.lookups`: what keys and methods a value exposes
- :mod:`~engine._sandbox.messages`: the message and hint a user sees for any failure
- :mod:`~engine._sandbox.sizes`: size checks made before anything is allocated
- :mod:`~engine._sandbox.operators`: arithmetic and comparison operators
- :mod:`~engine._sandbox.numbers`, :mod:`~engine._sandbox.functions`: the function set
- :mod:`~engine._sandbox.text`, :mod:`~engine._sandbox.patterns`: text, JSON, base64, regex
"""
