"""Keys and sealing: AES-256-GCM for content, keyed BLAKE2b for names, scrypt for the passphrase.

A repository has two random 32-byte keys: `enc` seals chunks and manifests, `ident` names chunks
(a keyed hash, so equal content gets the same name inside one repository but the target cannot test
a guess). Both are stored in the repository's `config`, sealed under a key derived from the
passphrase with scrypt; a wrong passphrase fails to open them and is told apart from damage.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from fapiao.backup import RepositoryError, WrongPassphrase

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
NONCE = 12
CHUNK_MAGIC = b"FPC1"
MANIFEST_MAGIC = b"FPM1"
KEY_AAD = b"fapiao-backup-keys-v1"


class Damaged(Exception):
    """Sealed bytes failed authentication or have the wrong shape."""


@dataclass(frozen=True, slots=True)
class Keys:
    enc: bytes
    ident: bytes

    @classmethod
    def new(cls) -> Keys:
        return cls(os.urandom(32), os.urandom(32))

    def chunk_id(self, data: bytes) -> str:
        return hashlib.blake2b(data, key=self.ident, digest_size=32).hexdigest()

    def seal(self, magic: bytes, data: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return magic + nonce + AESGCM(self.enc).encrypt(nonce, data, aad)

    def open(self, magic: bytes, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < len(magic) + NONCE + 16 or not sealed.startswith(magic):
            raise Damaged("bad header")
        nonce = sealed[len(magic) : len(magic) + NONCE]
        try:
            return AESGCM(self.enc).decrypt(nonce, sealed[len(magic) + NONCE :], aad)
        except InvalidTag as exc:
            raise Damaged("authentication failed") from exc


def _kek(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def wrap(keys: Keys, passphrase: str) -> dict[str, Any]:
    """The `kdf` and `keys` fields of a repository config."""
    salt = os.urandom(16)
    kek = _kek(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    nonce = os.urandom(NONCE)
    sealed = AESGCM(kek).encrypt(nonce, keys.enc + keys.ident, KEY_AAD)
    return {
        "kdf": {
            "name": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(salt).decode(),
        },
        "keys": base64.b64encode(nonce + sealed).decode(),
    }


def unwrap(config: dict[str, Any], passphrase: str) -> Keys:
    try:
        kdf = config["kdf"]
        if kdf["name"] != "scrypt":
            raise RepositoryError(f"未知的密钥派生算法 / unknown key derivation {kdf['name']!r}")
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if not (2**10 <= n <= 2**22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise RepositoryError("密钥派生参数异常 / implausible key derivation parameters")
        salt = base64.b64decode(kdf["salt"])
        blob = base64.b64decode(config["keys"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RepositoryError(f"备份库配置损坏 / damaged repository config: {exc}") from exc
    kek = _kek(passphrase, salt, n, r, p)
    try:
        raw = AESGCM(kek).decrypt(blob[:NONCE], blob[NONCE:], KEY_AAD)
    except InvalidTag as exc:
        raise WrongPassphrase(
            "备份口令错误（或备份库的密钥已损坏），无法解密 / wrong backup passphrase "
            "(or the repository key is damaged): cannot decrypt"
        ) from exc
    return Keys(raw[:32], raw[32:64])
