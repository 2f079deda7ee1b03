"""The admin HTTP API under the admin prefix (`api`: flags, inventory, audit, shadow, rollouts,
metrics, health, status) and its errors; the credentials it checks are strangler.credentials.
"""
