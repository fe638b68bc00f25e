"""Backups of a whole knowledge base, and restoring them: ``medkb backup`` / ``medkb restore``.

A backup is one folder (or S3 prefix) named ``medkb-backup-<UTC timestamp>``::

    manifest.json              written last: a backup without it is incomplete
    relational/medkb.sqlite3   SQLite: an online-backup copy of the database, or
    relational/medkb.pgdump    PostgreSQL: ``pg_dump -Fc`` of medkb's tables, or
    relational/<table>.jsonl   a logical dump, one file per table (any database)
    vectors/records.jsonl      the vector collection: ids, tenants, texts, metadata ...
    vectors/<field>.f32        ... and each vector field as float32 rows, in the same order
    objects/<key>              the object files (raw uploads)

Modules by role: :mod:`~medkb.backup.manifest` (the manifest and its checks),
:mod:`~medkb.backup.tables` (tables in foreign-key order, the logical dump),
:mod:`~medkb.backup.relational` (snapshot and restore of the relational store),
:mod:`~medkb.backup.vectors` (collection export and load), :mod:`~medkb.backup.targets`
(local folders and S3), :mod:`~medkb.backup.snapshot` and :mod:`~medkb.backup.restore`
(the two flows).
"""
