"""Tests of engine.run: compiled pipelines running on in-process tools."""
