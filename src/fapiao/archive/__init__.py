"""电子会计档案: a package an auditor or an archive takes away and checks alone.

`package` writes it from the ledger: every invoice of a tenant and period with its original file, its
canonical JSON and an inclusion proof of its events under a signed checkpoint, and a manifest with
the SHA-256 of every file, signed with the ledger's key. `check` verifies a package with the
standard library, `cryptography` and `fapiao.proof` only: no database.
"""
