"""Fixtures of the end-to-end suites: the worked example's model, trained once a session."""

from tests.example.conftest import model_file  # noqa: F401 (a fixture, found here by pytest)
