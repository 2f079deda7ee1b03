"""Flask's tutorial app, flaskr, as a legacy app nobody here wrote (`flaskr/` and LICENSE.txt:
vendored unchanged from the Flask 3.1.3 sdist's examples/tutorial).

`legacy.py` builds it on a scratch SQLite database with a reset hook; `completed.py` is a port
drafted by `strangler scaffold` with one endpoint written by hand (tests/scaffold).
"""
