"""Tests of engine.plugins."""
