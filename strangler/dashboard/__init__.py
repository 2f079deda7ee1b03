"""The operator dashboard, served under the admin prefix at `/ui` (strangler.dashboard.app)."""
