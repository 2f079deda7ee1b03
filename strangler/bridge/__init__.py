"""The WSGI bridge: the legacy Flask app served as an ASGI app, each request in a thread pool.

bridge     the ASGI app and the two paths of a request (lean, streamed)
environ    the PEP 3333 environ built from an ASGI scope (pure)
streams    the request body and response queue between a worker thread and the loop
"""
