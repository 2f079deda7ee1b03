"""The flag table: what a flag is, where the table is kept, how changes are checked and seen.

model      Flag, the immutable FlagSnapshot the router reads, the AuditEntry of a change
store      the FlagStore protocol and `open_store(location)`
memory     the in-memory store (tests, one process)
sqlite     the SQLite store (every worker and the CLI on one file)
service    operator changes checked against the inventory before they are written
watcher    each worker's current snapshot, refreshed by polling; faults keep the last good one
flagfile   the flags file in the repo: seeds an empty store, takes exports back
"""
