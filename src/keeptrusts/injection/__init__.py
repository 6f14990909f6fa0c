"""Prompt-injection detection: rules as data (`families/`), one multi-pattern engine, a scanner
that decodes, normalises and scores, and the neutraliser that marks untrusted text as data."""
from .scanner import Hit, Report, Scanner

__all__ = ["Hit", "Report", "Scanner"]
