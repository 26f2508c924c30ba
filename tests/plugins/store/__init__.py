"""Tests of the plugin store and the plugin lifecycle."""
