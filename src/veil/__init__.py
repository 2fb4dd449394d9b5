"""Veil: a privacy gateway for the OpenAI API."""

__version__ = "0.1.0"
