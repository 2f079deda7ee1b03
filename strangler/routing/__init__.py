"""Where a request goes, decided without I/O: templates, the inventory, the decision, sticky ids.

templates   one parser of Flask's and FastAPI's route syntax; route keys `METHOD /template`
inventory   the endpoints both apps declare, and matching a request to one
decision    the pure choice of backend from the endpoint, its flag and the caller's bucket
sticky      where a canary caller's identity comes from (JWT claim, header, cookie, client)
"""
