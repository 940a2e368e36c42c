"""Accounts, passwords, tokens and login throttling."""
