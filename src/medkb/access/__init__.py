"""Access control for the HTTP service: tenants, API keys with scopes, the audit log."""
