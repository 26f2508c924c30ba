"""Tests of engine.lang."""
