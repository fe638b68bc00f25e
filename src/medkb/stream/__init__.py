"""Streaming ingestion: versioned events on a bus, consumed by ``medkb worker --bus``.

events.py      the envelope and the versioned event types, with their JSON schemas
bus/           the ``Bus`` Protocol and its backends (``db``, ``redis``)
consumer.py    the consuming loop: validate, apply, ack after commit, dead-letter
apply.py       what each event type does to the knowledge base (idempotent by event id)
produce.py     JSONL files → events on a bus (``medkb produce``)
dlq.py         inspect and replay dead letters (``medkb dlq``)
"""
