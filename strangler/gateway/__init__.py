"""The request path: one ASGI app that sends each request to the legacy or the migrated app.

dispatch   the Gateway: admin prefix, match, decide, call one app, mark the answer
hooks      the small protocols it calls besides the apps: observers, the shadow, its lifecycle
requestid  request ids, kept or made
lifespan   the migrated app's startup and shutdown, driven by the gateway's own lifespan

It takes its parts ready-made: strangler.assembly builds them (`create_gateway`).
"""
