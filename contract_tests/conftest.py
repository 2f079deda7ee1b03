"""The corpus here is collected by strangler's pytest plugin (one test per case, one per fuzzed
endpoint), registered when strangler is installed; this file only sets the example's key."""

from __future__ import annotations

import os

# The worked example signs tokens with this key when none is set. 32+ bytes: PyJWT warns about
# shorter HS256 keys, and warnings are errors in this suite.
os.environ.setdefault("ML_API_SECRET_KEY", "strangler-contract-tests-secret-0123456789")
