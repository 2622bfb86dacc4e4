"""ressenti: smiley feedback kiosks and their collector (shared code: contract, CLI, demo)."""

__version__ = "0.1.0"
