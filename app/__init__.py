"""Storyline: runtime security events into attack stories."""

__version__ = "0.1.0"
