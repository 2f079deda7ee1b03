"""Errors of the WSGI bridge.

StranglerError, OSError
 └── ClientDisconnected       the client went away; raised in the worker thread, from
                              `wsgi.input` reads and response writes, so the app stops
"""

from __future__ import annotations

from strangler.errors import StranglerError


class ClientDisconnected(StranglerError, OSError):
    """The client went away. An OSError too, as a closed socket is to a WSGI app under gunicorn."""
