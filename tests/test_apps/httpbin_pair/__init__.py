"""httpbin (a Flask app nobody here wrote) as a legacy app, with a one-endpoint FastAPI port.

`strangler.toml` beside this file serves the pair: `strangler serve --config
tests/test_apps/httpbin_pair/strangler.toml`. The benchmark and the real-server tests of the
legacy path (#12) use it: /get is a cheap endpoint, /delay/N an I/O-bound one (it sleeps, as a
database call waits), /drip a slow stream that declares its Content-Length.
"""
