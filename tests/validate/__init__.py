"""Tests of engine.validate."""
