"""The sandbox core that expressions and templates share.

Neither language runs code from a manifest: both read values through the same key and
method rules, measure every allocation against the run's limits with the same checks,
use the same operators and functions, and describe a missing name in the same words.
:mod:`engine.lang.expressions` re-exports the public names; :mod:`engine.lang.templates` builds its
filters on them.

- :mod:`~engine.lang.sandbox.references`: problems, references and how a reference is written
- :mod:`~engine.lang.sandbox.failures`: failures raised inside the sandbox, values described
- :mod:`~engine.lang.sandbox.lookups`: what keys and methods a value exposes
- :mod:`~engine.lang.sandbox.messages`: the message and hint a user sees for any failure
- :mod:`~engine.lang.sandbox.sizes`: size checks made before anything is allocated
- :mod:`~engine.lang.sandbox.operators`: arithmetic and comparison operators
- :mod:`~engine.lang.sandbox.numbers`, :mod:`~engine.lang.sandbox.functions`: the function set
- :mod:`~engine.lang.sandbox.text`, :mod:`~engine.lang.sandbox.patterns`: text, JSON, base64, regex
"""
