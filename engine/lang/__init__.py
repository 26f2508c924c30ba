"""The languages: templates and expressions, the sandbox they share, and what bounds it
(the run's limits and the secrets it must not show)."""
