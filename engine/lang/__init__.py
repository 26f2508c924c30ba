"""The languages: templates and expressions, and the sandbox they share."""
