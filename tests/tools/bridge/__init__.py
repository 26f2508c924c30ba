"""Tests of engine.tools.bridge."""
