"""`strangler scaffold`: the FastAPI port of legacy endpoints, drafted from what legacy answers.

    routes   the endpoints from the Flask url_map, parameters typed by their converters
    capture  the requests (recorded, corpus, examples, made up) played on legacy in process
    infer    Pydantic models from JSON samples (optional fields, enums, UUIDs, dates)
    draft    the module: models, routes with legacy's answers as `responses=`, 501 handlers
    corpus   a corpus file per endpoint of the requests played
    cli      the command

A tool, not the request path: it sits above the contract runner, whose in-process side it
plays requests through (docs/scaffold.md).
"""
