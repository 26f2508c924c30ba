"""Tests of engine.runtime: compiled pipelines running on in-process tools."""
