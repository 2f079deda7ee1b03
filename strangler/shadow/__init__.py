"""Shadow traffic: a share of an endpoint's live requests also goes to the backend not serving it.

    request ─► serving backend ─► the client's answer, unchanged and on time
                  │ (captured as it passes)
                  └─► bounded queue ─► other backend (timeout) ─► compare (the corpus's rules)
                                     └─► serving backend again, sometimes (A/A: learns noise)

Modules: `exchange` (reading a body once, replaying it, capturing an answer), `tap` (the
sampling, the bounded work and the comparison), `record` (per-endpoint counts and the last
mismatches), `policy` (what is secret: names by pattern, JSON paths, values echoed) and
`redact` (an exchange shown with its secrets out, corpus cases written).
"""
