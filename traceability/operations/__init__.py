"""Lifecycle operations of the car-to-car loop, each an EPCIS 2.0 event on the ledger."""
