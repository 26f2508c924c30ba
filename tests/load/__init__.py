"""Tests of engine.load."""
