"""Retrieval evaluation: ranking metrics (``metrics``) and the harness that runs a BEIR-style
data set through a knowledge base's real query path (``harness``)."""
