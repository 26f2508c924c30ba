"""Plugins: packages of actions, their archives, versions and dependencies."""
