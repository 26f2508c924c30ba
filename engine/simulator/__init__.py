"""The Keyboard Maestro simulator: a stateful, deterministic stand-in for the ``km_*`` tools.

>>> sim = Simulator()
>>> sim.call("km_calculator", {"expression": "2 ^ 10"})["data"]["result"]
1024
>>> sim.label, sim.simulated
('simulator', True)
"""

from engine.simulator._core import Simulator
from engine.simulator._persist import SimulatorStateError, SimulatorStateWarning

__all__ = ["Simulator", "SimulatorStateError", "SimulatorStateWarning"]
