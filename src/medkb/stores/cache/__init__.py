"""The answer cache: answers to repeated questions, per tenant, dropped when a pair they
cite changes (``base.py`` the Protocol, ``memory.py`` and ``redis.py`` the backends)."""
