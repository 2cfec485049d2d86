"""Compliance officer pages (provider) and practice pages of the compliance app, one
module per subject."""
