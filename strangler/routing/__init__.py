"""Where a request goes, decided without I/O: templates, the inventory, the decision, sticky ids.

templates   one parser of Flask's and FastAPI's route syntax; route keys `METHOD /template`
inventory   the endpoints both apps declare, and matching a request to one
decision    the pure choice of backend from the endpoint, its flag and the caller's bucket
sticky      where a canary caller's identity comes from (JWT claim, header, cookie, client)
"""

from strangler.routing.decision import BUCKETS, Decision, Reason, bucket, decide
from strangler.routing.inventory import Endpoint, Inventory, discover
from strangler.routing.sticky import StickySource, parse_sticky
from strangler.routing.templates import normalise_template, parse_route_key, route_key

__all__ = [
    "BUCKETS",
    "Decision",
    "Endpoint",
    "Inventory",
    "Reason",
    "StickySource",
    "bucket",
    "decide",
    "discover",
    "normalise_template",
    "parse_route_key",
    "parse_sticky",
    "route_key",
]
