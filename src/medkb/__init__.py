"""medkb: a medical Q&A knowledge base kept in a relational and a vector store, in sync."""

__version__ = "0.1.0"
