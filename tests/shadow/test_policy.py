"""What shadowing treats as secret (strangler.shadow.policy): names by pattern, JSON paths, and
an exchange's secrets found again where they are echoed (#22)."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from strangler.shadow.policy import DEFAULT_NAMES, REDACTED, Policy, Secrets


@pytest.mark.parametrize(
    "name",
    ["X-Auth-Token", "Api-Key", "Password", "pass", "sessionid", "Set-Cookie", "Authorization"],
)
def test_the_default_names_match_secret_names_in_any_case(name: str) -> None:
    """Header, field and key names are matched case-insensitively by the default patterns."""
    assert Policy().secret_name(name)


@pytest.mark.parametrize("name", ["name", "content-type", "id", "items", "user"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    """Names that say nothing of a secret are shown."""
    assert not Policy().secret_name(name)


def test_a_list_of_json_paths_only_keeps_the_default_names() -> None:
    """An old `shadow_redact` (JSON paths only) adds its paths to the default names."""
    policy = Policy(["$.card.number", "$.items[*].pin"])
    assert policy.names == DEFAULT_NAMES
    assert policy.secret_name("X-Auth-Token")
    assert policy.at_path(("card", "number"))
    assert policy.at_path(("items", 3, "pin"))
    assert not policy.at_path(("items", 3, "id"))


def test_names_given_replace_the_default_names() -> None:
    """Name patterns in the setting are the policy's names: a default left out is shown."""
    policy = Policy(["*pin*", "x-tenant"])
    assert policy.secret_name("PIN_CODE")
    assert policy.secret_name("X-Tenant")
    assert not policy.secret_name("password")


@pytest.mark.parametrize(
    ("where", "secret"),
    [
        ("header:x-auth-token", True),
        ("cookie:theme", True),
        ("$.user.password", True),
        ('$["Api-Key"]', True),
        ("$.items[3].token", True),
        ("$.items[3].name", False),
        ("header:content-type", False),
        ("status", False),
    ],
)
def test_a_difference_s_place_is_secret_by_any_name_on_its_way(where: str, secret: bool) -> None:
    """A difference at a secret header, a cookie, or under a secret key is secret."""
    assert Policy().secret_where(where) is secret


def test_a_secret_is_masked_as_written_and_as_encoded() -> None:
    """A secret found once is replaced plain, URL-encoded and JSON-escaped; a short one is not
    searched for (it would blank unrelated text)."""
    secrets = Secrets(Policy())
    secrets.add('Bearer tok/en+1 "x"')
    secrets.add("abc")
    value = 'tok/en+1 "x"'
    spellings = [value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)]
    text = " ".join([*spellings, json.dumps(value)[1:-1], "abc"])
    masked = secrets.mask(text)
    assert "tok" not in masked
    assert masked.count(REDACTED) == 4
    assert masked.endswith(" abc")


def test_name_value_pairs_in_text_are_masked_and_remembered() -> None:
    """`password=...` and `"session": "..."` in text are replaced, and their values then masked
    wherever they appear."""
    secrets = Secrets(Policy())
    text = secrets.text(
        'user=ann&password=hunter22&x=1 {"Session": "s-3344"} api-key: k-9988 note: pass=p-7766'
    )
    for secret in ("hunter22", "s-3344", "k-9988", "p-7766"):
        assert secret not in text
    assert "user=ann&" in text
    assert "&x=1 " in text
    assert secrets.mask("echo hunter22 s-3344") == f"echo {REDACTED} {REDACTED}"
