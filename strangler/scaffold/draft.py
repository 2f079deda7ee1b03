"""The draft port as Python source: models, one route per endpoint, strangler.compat wired in.

Every route documents what legacy answered in the samples, as `responses=` (each status with
its model, or its media type and an example: Werkzeug's error pages, redirects), so the
OpenAPI document, and the fuzzer reading it, agree with the wire. Its handler takes the path
parameters typed by their converters, the query arguments seen (parsed as Flask parses them:
`query_arg`), the JSON body or form fields seen, and answers Werkzeug's 501 page until written.
"""

from __future__ import annotations

import collections
import html
import re
import textwrap
from collections.abc import Sequence

from strangler.comparison.cases import MISSING
from strangler.scaffold.capture import Sample
from strangler.scaffold.infer import Models, class_name, field_name
from strangler.scaffold.pretty import LINE, Name, import_line, layout, literal
from strangler.scaffold.routes import Route

EXAMPLE_MAX = 600  # characters of a non-JSON answer kept as the OpenAPI example
_TITLE = re.compile(rb"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def module_source(
    legacy_spec: str, routes: Sequence[Route], samples: dict[str, list[Sample]], *, session: bool
) -> str:
    """The draft module for `routes`, typed and documented from their `samples`. With
    `session`, the legacy app's signed cookie session is installed and handed to handlers."""
    models = Models()
    names: set[str] = set()
    functions = [
        _route(route, samples.get(route.key, []), models, session, names) for route in routes
    ]
    module, _, attr = legacy_spec.partition(":")
    head, _, rest = attr.partition(".")
    legacy = f"from {module} import {head} as legacy_app\n"
    if rest:
        legacy = f"from {module} import {head} as _legacy\n\nlegacy_app = _legacy.{rest}\n"
    compat = ["error_page", "implicit_routes", "install_legacy_errors"]
    compat += ["query_arg"] if any("query_arg(" in f for f in functions) else []
    compat += ["LegacySessionMiddleware", "Session"] if session else []
    fastapi = ["FastAPI"] + [n for n in ("Body", "Form") if any(f"{n}(" in f for f in functions)]
    typing = {"Annotated"} if any("Annotated[" in f for f in functions) else set()
    typing |= {"Any"}  # legacy_openapi's
    typing |= {n for n in ("Any", "Literal") if n in models.imports}
    typing |= {"Literal"} if any("Literal[" in f for f in functions) else set()
    lines = [
        f'"""The FastAPI port of {legacy_spec}, drafted by `strangler scaffold`.\n',
        "\n",
        "Each handler answers 501 until written. Paths, parameters, models and `responses=`\n",
        "come from the url_map and from what legacy answered: check them against the legacy\n",
        "code as you write each handler (docs/scaffold.md).\n",
        '"""\n',
        "\n",
    ]
    standard = []
    if "datetime" in models.imports:
        standard.append("import datetime\n")
    if "uuid" in models.imports or any("uuid.UUID" in f for f in functions):
        standard.append("import uuid\n")
    if typing:
        standard.append(import_line("typing", sorted(typing)))
    lines += [*standard, "\n"] if standard else []
    lines.append(import_line("fastapi", sorted(fastapi)))
    lines.append("from fastapi.responses import Response\n")
    if models.classes:
        lines += [line for line in models.header() if line.startswith("from pydantic")]
    # strangler with the other installed packages, the legacy app as the project's own: how
    # isort sorts them in the usual project (strangler.scaffold.tidy sorts by its settings).
    lines.append(import_line("strangler.compat", sorted(compat)))
    lines += [
        "\n",
        "# The legacy app lends its error handlers and its session's secret key and serializer;\n",
        "# once it is deleted, keep a bare Flask app configured the same (docs/compat.md).\n",
        legacy,
    ]
    for block in models.classes:
        lines += ["\n\n", block]
    lines += [
        "\n\n" if models.classes else "\n",  # one blank line after imports, two after a class
        "app = FastAPI(title=" + literal(f"Port of {legacy_spec}") + ")\n",
        "# Errors (router 404/405, abort(), validation) answered as legacy answers them.\n",
        "install_legacy_errors(app, legacy=legacy_app)\n",
    ]
    if session:
        lines += [
            "# Flask's signed cookie session: a login on either backend holds on the other.\n",
            "app.add_middleware(LegacySessionMiddleware, legacy=legacy_app)\n",
        ]
    lines += [
        "\n\n",
        "def not_written() -> Response:\n",
        '    """Werkzeug\'s 501 page: not ported yet (its flag stays on legacy)."""\n',
        "    return error_page(501)\n",
    ]
    for function in functions:
        lines += ["\n\n", function]
    lines += [
        "\n\n",
        "# OPTIONS on every route and HEAD on every GET route, answered as Flask answers them\n",
        "# (OPTIONS with the legacy app's request hooks, as Flask runs them).\n",
        "app.router.routes.extend(implicit_routes(app.router.routes, legacy=legacy_app))\n",
        _OPENAPI,
    ]
    return "".join(lines)


# FastAPI documents a 422 on every operation with parameters; install_legacy_errors answers
# a validation error as legacy did (a 400 page, say), so the document drops that 422 unless
# legacy was seen answering one (its own description then).
_OPENAPI = """

def legacy_openapi() -> dict[str, Any]:
    \"\"\"The OpenAPI document, with only the answers legacy gives: no FastAPI 422.\"\"\"
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answers = operation.get("responses", {})
                if answers.get("422", {}).get("description") == "Validation Error":
                    del answers["422"]
    return app.openapi_schema or {}


app.openapi = legacy_openapi  # type: ignore[method-assign]
"""


def _route(
    route: Route, samples: list[Sample], models: Models, session: bool, names: set[str]
) -> str:
    wanted = field_name(route.view.replace(".", "_")) + "_" + route.method.lower()
    name, n = wanted, 2
    while name in names:  # two rules of one view (`/anything`, `/anything/<path:p>`)
        name, n = f"{wanted}_{n}", n + 1
    names.add(name)
    model_base = class_name(f"{route.method.lower()} {route.rule}")
    statuses = collections.Counter(s.answer.status for s in samples)
    responses = _responses(model_base, samples, models)
    main = next((s for s, _ in statuses.most_common() if s < 400), None)
    if main is None and statuses:
        main = statuses.most_common(1)[0][0]
    params: list[str] = []
    notes: list[str] = []
    for param in route.params:
        params.append(f"{field_name(param.name)}: {param.python}")
        if param.note:
            notes += _comment(f"{param.name}: {param.note}")
    params += _query(samples)
    params += _body(model_base, samples, models)
    if session:
        params.append(SESSION)
    params.sort(key=lambda p: " = " in p)  # those with a default last
    decorator = f"@app.{route.method.lower()}(\n    {literal(route.path)},\n"
    if main is not None:
        decorator += f"    status_code={main},\n"
    decorator += "    response_model=None,\n"
    if responses:
        decorator += "".join(f"{line}\n" for line in layout(responses, 4, "responses=", ","))
    decorator += ")\n"
    signature = f"def {name}({', '.join(params)}) -> Response:\n"
    if len(signature) > LINE or session:  # one a line: the session's comment needs its own
        signature = f"def {name}(\n" + "".join(f"    {p},\n" for p in params) + ") -> Response:\n"
        signature = signature.replace(f"    {SESSION},\n", f"    {SESSION},  {SESSION_WHY}\n")
    seen = ", ".join(f"{s} ({n}x)" for s, n in sorted(statuses.items())) or "nothing (no sample)"
    doc = route.doc or f"{route.method} {route.rule}"
    todo = f"TODO: port legacy's `{route.view}` ({route.method} {route.rule}); it answered {seen}."
    body = _docstring(doc) + "".join(_comment(todo))
    return decorator + signature + body + "".join(notes) + "    return not_written()\n"


SESSION = "session: Session"
# Why every handler takes the session, used or not: Flask marks a session read (a template
# showing who is logged in) and answers `Vary: Cookie`; taking it does the same here.
SESSION_WHY = "# read, as legacy reads it: keeps Flask's `Vary: Cookie` on the answer"


def _comment(text: str) -> list[str]:
    """`text` as comment lines in a handler's body, wrapped to the line length."""
    return [
        f"{line}\n"
        for line in textwrap.wrap(text, LINE, initial_indent="    # ", subsequent_indent="    # ")
    ]


def _responses(base: str, samples: list[Sample], models: Models) -> dict[int, object]:
    """`responses=` entries: each status legacy gave, with its JSON model (all its samples
    validate) or its media type and an example body."""
    by_status: dict[int, list[Sample]] = {}
    for sample in samples:
        by_status.setdefault(sample.answer.status, []).append(sample)
    entries: dict[int, object] = {}
    for status, seen in sorted(by_status.items()):
        description = _description(status, seen)
        values = [s.json for s in seen]
        if all(v is not MISSING for v in values):
            model = models.model(f"{base}{status}", values)
            entries[status] = {"model": Name(model), "description": description}
            continue
        media = seen[0].content_type or "text/plain"
        example = seen[0].answer.body[:EXAMPLE_MAX].decode("utf-8", "replace")
        content = {media: {"example": example}} if example else {media: {}}
        entries[status] = {"description": description, "content": content}
    return entries


def _description(status: int, samples: list[Sample]) -> str:
    locations = dict.fromkeys(s.answer.header("location") for s in samples)
    if None not in locations:
        return "Redirect to " + " or ".join(str(location) for location in locations)
    sample = samples[0]
    title = _TITLE.search(sample.answer.body)
    if title:
        return html.unescape(title.group(1).decode("utf-8", "replace").strip())
    return f"{status} ({sample.content_type or 'no body'})"


def _query(samples: list[Sample]) -> list[str]:
    """A `query_arg` per query argument seen: Flask's `args.get` (a value that does not
    convert gives the default, as legacy's `type=int` did, never FastAPI's 422)."""
    values: dict[str, list[str]] = {}
    for sample in samples:
        for name, value in sample.request.query.items():
            values.setdefault(name, []).extend(value if isinstance(value, list) else [value])
    params = []
    for name, seen in values.items():
        kind = ", type=int" if all(re.fullmatch(r"-?\d+", v) for v in seen) else ""
        params.append(f"{field_name(name)}: Any = query_arg({literal(name)}{kind})")
    return params


def _body(base: str, samples: list[Sample], models: Models) -> list[str]:
    """The JSON body as a model, or the form fields, as the samples sent them."""
    bodies = [s.request.json for s in samples]
    sent = [b for b in bodies if b is not MISSING]
    if sent:
        model = models.model(f"{base}Body", sent)
        optional = " | None" if len(sent) < len(bodies) else ""
        return [f"body: Annotated[{model}{optional}, Body()]" + (" = None" if optional else "")]
    forms = [s.request.form for s in samples if s.request.form is not None]
    fields: dict[str, int] = {}
    for sent_form in forms:
        for key in sent_form:
            fields[key] = fields.get(key, 0) + 1
    params = []
    for key, count in fields.items():
        python = field_name(key)
        form = "Form()" if python == key else f"Form(alias={literal(key)})"
        if count == len(samples):
            params.append(f"{python}: Annotated[str, {form}]")
        else:
            params.append(f"{python}: Annotated[str | None, {form}] = None")
    return sorted(params, key=lambda p: " = None" in p)  # defaults last


def _docstring(text: str) -> str:
    """The handler's docstring: one line, or wrapped as a block if too long for one."""
    text = text.replace("\\", "\\\\").replace('"""', "'''").strip() or "Not written yet."
    if len(f'    """{text}"""') <= LINE:
        return f'    """{text}"""\n'
    wrapped = textwrap.wrap(text, LINE, initial_indent="    ", subsequent_indent="    ")
    return '    """\n' + "".join(f"{line}\n" for line in wrapped) + '    """\n'
