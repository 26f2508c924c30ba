"""The Keyboard Maestro simulator: the ``km_*`` tools answered as the real server answers them,
from a model of Keyboard Maestro (``engine.simulator.km``).

>>> sim = Simulator()
>>> sim.call("km_variable_manager", {"operation": "get", "name": "Greeting"})["data"]["value"]
'Hello'
>>> sim.label, sim.simulated
('simulator', True)
"""

from engine.simulator._core import Simulator
from engine.simulator._persist import SimulatorStateError, SimulatorStateWarning

__all__ = ["Simulator", "SimulatorStateError", "SimulatorStateWarning"]
