"""Export and import: a knowledge base's pairs in and out as JSONL, JSON, CSV, parquet, SQL.

- :mod:`~medkb.transfer.records`: the exported record and its batched, keyset-paginated read;
- :mod:`~medkb.transfer.formats`, :mod:`~medkb.transfer.sqlscript`,
  :mod:`~medkb.transfer.pgtable`: the sinks (files, an SQL script, a PostgreSQL table);
- :mod:`~medkb.transfer.export`: :func:`export_pairs` (the reusable core) and :func:`export_to`;
- :mod:`~medkb.transfer.readers`, :mod:`~medkb.transfer.decode`,
  :mod:`~medkb.transfer.importer`: reading an export back through the one write path.
"""
