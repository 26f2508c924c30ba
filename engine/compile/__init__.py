"""Compiling: a validated manifest becomes a frozen, runnable Pipeline."""
