"""Diagnostics: the error tree, the codes, one reporter, did-you-mean and the words users read."""
