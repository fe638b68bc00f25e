"""The HTTP service (``medkb serve``): FastAPI over the same KnowledgeBase the CLI uses."""

from medkb.api.app import create_app

__all__ = ["create_app"]
