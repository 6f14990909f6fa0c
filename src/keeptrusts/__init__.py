"""Keeptrusts Gateway: a local policy gateway for the OpenAI API, built on mitmproxy."""

__version__ = "0.1.0"
