"""Tests of engine.diagnostics."""
