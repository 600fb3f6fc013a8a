"""Errors raised by plait's core. Every message says how to fix the problem."""

from __future__ import annotations


class PlaitError(Exception):
    """Root of every error plait raises on purpose."""


class ConfigError(PlaitError):
    """`plait.toml` or an environment variable holds something plait cannot use."""


class ModelRefError(PlaitError):
    """A model reference or role does not resolve to a model."""


class MissingAPIKeyError(ModelRefError):
    """A remote model was asked for but its API key is not set."""


class ModelFileError(ModelRefError):
    """A model file is missing or unreadable."""


class OutputParseError(PlaitError):
    """A model's output could not be parsed into the structure asked for."""

    def __init__(self, message: str, *, output: str) -> None:
        super().__init__(message)
        self.output = output


class ScriptExhaustedError(PlaitError):
    """A scripted test model was called more times than it has replies."""


class EmptyInputError(PlaitError):
    """A node was given empty text where it needs some."""
