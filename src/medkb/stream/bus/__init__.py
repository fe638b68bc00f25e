"""Event buses behind one Protocol (``base.Bus``): ``db`` (the relational store) and
``redis`` (Redis Streams); :func:`registry.open_bus` picks one by URL."""
