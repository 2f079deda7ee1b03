"""The request path: one ASGI app that sends each request to the legacy or the migrated app.

dispatch   the Gateway: admin prefix, match, decide, call one app, mark the answer
lifespan   the migrated app's startup and shutdown, driven by the gateway's own lifespan
"""

from strangler.gateway.dispatch import FORCE_HEADER, Gateway, create_gateway

__all__ = ["FORCE_HEADER", "Gateway", "create_gateway"]
