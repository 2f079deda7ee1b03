"""Serving the gateway on uvicorn with limits: what a connection may cost before it is dropped.

limits     the Limits (sizes, times, counts) and their safe defaults
protocol   uvicorn's HTTP protocol with those limits enforced as bytes arrive
cpu        how busy the process keeps its CPU (the legacy pool and the shadow tap read it)
"""
