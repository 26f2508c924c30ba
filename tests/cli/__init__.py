"""Tests of engine.cli: ``km-actions`` commands run in-process, output and exit status."""
