"""Staying up when a dependency does not: named retry policies (``retry.py``), circuit
breakers (``breaker.py``) and the proxy putting both around a dependency (``guard.py``)."""
