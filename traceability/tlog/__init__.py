"""The ledger as a C2SP tiled transparency log: written by a follower, served under ``/tlog/``."""
