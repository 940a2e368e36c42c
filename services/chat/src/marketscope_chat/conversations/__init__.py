"""Conversations with the analyst: their streams, folded state and the history a model
is shown."""
