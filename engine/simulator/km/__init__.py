"""What only Keyboard Maestro decides, as plain state and verbs (no MCP, no AppleScript).

One implementation of "what Keyboard Maestro does", shared by the simulator and by the
``osascript`` stand-in that records the real Keyboard Maestro MCP server's answers
(``scripts/km_server/``): calculations (:mod:`.calc`, :mod:`.arith`), text tokens
(:mod:`.tokens`, :mod:`.icu`), and the model of an installation (:mod:`.model`).
"""
