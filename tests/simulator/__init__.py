"""Tests of engine.simulator, the stateful stand-in for the km_* tools."""
