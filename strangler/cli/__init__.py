"""The `strangler` command line (see main.py for its commands)."""

from strangler.cli.main import main

__all__ = ["main"]
