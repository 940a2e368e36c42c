"""The embedded AWS emulator: moto's server app on loopback, served by gunicorn."""

from marketscope_emulator.process import (
    EmulatorProcess,
    free_port,
    reset_emulator,
    wait_until_ready,
)

__all__ = ["EmulatorProcess", "free_port", "reset_emulator", "wait_until_ready"]
