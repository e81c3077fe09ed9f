"""The platform's side of witnessing: sending checkpoints to the configured witnesses (C2SP
tlog-witness), keeping their cosignatures, and serving the cosigned checkpoint with whether it
meets the witness policy (C2SP tlog-policy)."""
