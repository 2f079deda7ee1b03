"""The admin HTTP API under the gateway's reserved prefix, and its credential.

api        the FastAPI app: health, endpoints, flags, history
auth       how a request presents the admin token, and how it is checked
"""

from strangler.admin.api import build_admin_app
from strangler.admin.auth import ADMIN_TOKEN_HEADER, Credential, Credentials, Role

__all__ = ["ADMIN_TOKEN_HEADER", "Credential", "Credentials", "Role", "build_admin_app"]
