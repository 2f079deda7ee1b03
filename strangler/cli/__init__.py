"""The `strangler` command line (see main.py for its commands)."""
