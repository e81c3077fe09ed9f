"""The pure credential core: bytes and dicts in, values out, ``CredentialError`` on failure.

No Django: a verifier can run it with Python, ``cryptography`` and ``rfc8785`` alone.
"""
