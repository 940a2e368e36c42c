"""The one error the commands raise to end with a message and exit code 1."""


class CliError(Exception):
    pass
