"""The pure ledger core: canonical JSON, digests, Ed25519, hash chain, RFC 9162 Merkle
tree and C2SP checkpoints. Imports no Django; raises only ``LedgerError``."""
