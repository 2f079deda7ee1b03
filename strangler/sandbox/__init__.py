"""The sandbox: where the side that is not serving runs, so it can be compared without touching
the world the clients see.

    with Sandbox() as box:          # the shadow call, an A/A call, a contract case
        ...call an app...           # its database writes are rolled back at the end,
                                    # its outbound HTTP is recorded and answered, not sent,
                                    # and shared code can ask `active()` to skip its caches

Modules: `context` (the Sandbox and `active()`, carried by a context variable into the app's
code, legacy's thread included), `sql` (SQLAlchemy engines whose writes in a sandbox are never
committed), `outbound` (httpx and requests calls recorded and answered in a sandbox), `check`
(the self-check at start: a write in a sandbox, then a read outside it).
"""
