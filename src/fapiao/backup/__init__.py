"""Backups of the whole ledger: snapshots, encryption, targets, verify, restore, drill.

A snapshot is a consistent logical dump of every table on `fapiao.ledger.schema.metadata` (original
files included: they live in `blobs`) plus `alembic_version`, read in one transaction. Each table is
cut into segments of rows by a key (`plans.py`); a segment is compressed, cut into chunks, encrypted
with AES-256-GCM and stored under a keyed hash of its content, so an incremental snapshot stores only
the segments that changed and a target learns neither content nor equality across repositories.
Each snapshot's manifest lists every segment, so any snapshot restores on its own.

Layout of a target (a directory, or the objects under an S3 prefix): `config` (scrypt parameters and
the wrapped keys), `data/xx/ID` (chunks), `snapshots/ID` (manifests, written last). Nothing is ever
rewritten in place; only `prune` deletes.

Modules: `crypto` (keys, sealing), `targets` (where bytes go: directories), `s3` (S3-compatible
buckets), `repo` (a target with its keys), `plans` (how each table is cut and how its changes are
found), `dump` (snapshot), `restore`, `verify`, `drill`, `prune` (retention), `tables` (the run log
kept in the ledger). Imports the ledger, never the CLI.

Exceptions:
    BackupError               anything that stops one backup operation
     ├── WrongPassphrase      the passphrase does not open the repository's key
     ├── RepositoryError      not a backup repository, damaged config or manifest, unknown snapshot
     └── TargetError          I/O on a target failed (disk full, permission, unreachable)
"""

from __future__ import annotations


class BackupError(Exception):
    """Base of the backup errors; the message is bilingual: Chinese / English."""


class WrongPassphrase(BackupError):
    pass


class RepositoryError(BackupError):
    pass


class TargetError(BackupError):
    pass


PASSPHRASE_ENV = "FAPIAO_BACKUP_PASSPHRASE"
