"""The inbox: every notification of a user, newest first, read or not."""
