"""The PEP 3333 environ the bridge builds from an ASGI scope (strangler.bridge.environ)."""

from __future__ import annotations

from strangler.bridge.environ import build_environ
from tests.support.asgi import http_scope


def test_several_cookie_fields_join_with_a_semicolon() -> None:
    """Several Cookie fields join with "; " so a cookie parser sees every cookie."""
    scope = http_scope(headers=[(b"cookie", b"a=1"), (b"cookie", b"b=2")])
    assert build_environ(scope, None)["HTTP_COOKIE"] == "a=1; b=2"


def test_other_repeated_headers_join_with_a_comma() -> None:
    """Other repeated header fields join with "," as RFC 9110 lists do."""
    scope = http_scope(headers=[(b"accept", b"text/html"), (b"accept", b"*/*")])
    assert build_environ(scope, None)["HTTP_ACCEPT"] == "text/html,*/*"


def test_header_names_with_underscores_are_dropped() -> None:
    """`X_User` cannot pose as `X-User`: headers with "_" are dropped, as gunicorn does."""
    scope = http_scope(headers=[(b"x-user", b"real"), (b"x_user", b"spoof")])
    assert build_environ(scope, None)["HTTP_X_USER"] == "real"


def test_content_type_and_length_have_no_http_prefix() -> None:
    """Content-Type and Content-Length map to CONTENT_TYPE and CONTENT_LENGTH."""
    scope = http_scope(headers=[(b"content-type", b"text/plain"), (b"content-length", b"3")])
    environ = build_environ(scope, None)
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("text/plain", "3")
    assert "HTTP_CONTENT_TYPE" not in environ


def test_root_path_becomes_script_name_and_path_info_is_relative() -> None:
    """The mount prefix is SCRIPT_NAME; PATH_INFO is the rest of the path."""
    environ = build_environ(http_scope("/legacy/items/1", root_path="/legacy"), None)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/legacy", "/items/1")


def test_root_path_is_stripped_only_at_a_segment_boundary() -> None:
    """A root_path of /app leaves /apple alone."""
    environ = build_environ(http_scope("/apple", root_path="/app"), None)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/apple")


def test_non_ascii_path_is_latin1_of_its_utf8_bytes() -> None:
    """PATH_INFO holds the path's UTF-8 bytes as latin-1 characters (PEP 3333)."""
    environ = build_environ(http_scope("/héllo"), None)
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/héllo"


def test_raw_utf8_query_string_decodes_as_latin1() -> None:
    """A query string of raw UTF-8 bytes decodes as latin-1 (a2wsgi's ascii raises)."""
    environ = build_environ(http_scope(query="q=ça".encode()), None)
    assert environ["QUERY_STRING"].encode("latin-1") == "q=ça".encode()


def test_environ_carries_the_asgi_scope_and_input_terminated() -> None:
    """The original scope is environ["asgi.scope"]; the input ends where the body does."""
    scope = http_scope()
    environ = build_environ(scope, None)
    assert environ["asgi.scope"] is scope
    assert environ["wsgi.input_terminated"] is True
