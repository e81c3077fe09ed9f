"""Verifiable credentials (W3C VC 2.0) issued by organisations: their did:web documents, the
signed credentials, their Bitstring Status Lists and the ledger facts that anchor them.

``core/`` is the pure part (encodings, securing, status bits, DID documents); the services,
selectors and views around it are Django's.
"""
