"""The marketscope command-line tool."""
