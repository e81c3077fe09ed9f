"""Check an audit export line by line, trusting nothing but the keys given.

Every entry is checked on its own (digest, signature by the key the ledger's own key
entries allowed at that ``seq``, header hash, inclusion in the export's checkpoint) and
against its neighbour where the export holds both (the hash chain). The checkpoint and
the consistency proofs must be signed by a platform key of that key history; the
manifest must be signed by the platform key (the trusted one, when given) and hold the
digest of every section. Footprints are computed again from the exported engine
inputs and compared with the exported results.

Problems are collected, not raised, so one run names all of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from carbon.engine import Activity, CarbonError, Footprint, Parameters, Source, walk
from carbon.engine.model import STAGES
from carbon.engine.serial import activity_from_json, footprint_from_json, parameters_from_json, source_from_json
from passport.verify import format as fmt
from passport.verify.errors import VerificationError
from passport.verify.trust import load_trusted_checkpoint
from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger.audit import RootAccumulator, platform_key_names
from traceability.ledger.chain import (
    CUSTODY_PLATFORM,
    GENESIS_PREV,
    KEY_KINDS,
    EntryHeader,
    KeyRing,
    format_time,
    parse_time,
    verify_entry,
)
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import (
    PUBLIC_KEY_LENGTH,
    b64decode,
    b64encode,
    key_id,
    public_key_from_raw,
    verify_bytes,
)

# Results must agree with their recomputation to this relative tolerance (and this
# absolute one, for stages that are zero up to rounding).
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12


@dataclass(frozen=True, slots=True)
class Failure:
    """One problem: where it is (``seq 12``, ``node 7 cut_off/physical``, ``manifest``...), a code, a reason."""

    where: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.code}: {self.message}"


@dataclass
class Report:
    origin: str = ""
    tree_size: int = 0
    root_hash: str = ""
    selection: dict[str, Any] = field(default_factory=dict)
    entries: int = 0
    selected: int = 0
    keys: int = 0
    consistency_proofs: int = 0
    results: int = 0
    manifest_key_id: str = ""
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        verdict = "OK" if self.ok else f"FAILED ({len(self.failures)} problems)"
        chosen = ", ".join(f"{k}={v}" for k, v in sorted(self.selection.items()) if v is not None) or "everything"
        return (
            f"{verdict}: audit export of {self.origin or '?'} at tree size {self.tree_size}, root {self.root_hash}\n"
            f"  selection: {chosen}\n"
            f"  checked: {self.entries} entries ({self.selected} selected) against {self.keys} keys, "
            f"{self.consistency_proofs} consistency proofs, {self.results} footprint results recomputed\n"
            f"  manifest signed by key {self.manifest_key_id}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "treeSize": self.tree_size,
            "rootHash": self.root_hash,
            "selection": self.selection,
            "entries": self.entries,
            "selected": self.selected,
            "keys": self.keys,
            "consistencyProofs": self.consistency_proofs,
            "results": self.results,
            "manifestKeyId": self.manifest_key_id,
            "failures": [{"where": f.where, "code": f.code, "message": f.message} for f in self.failures],
        }


class _Problem(Exception):
    """A problem with one line, caught where the line is handled and turned into a ``Failure``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _get(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``data[name]`` if it has the type asked for (JSON's true and false are not numbers here)."""
    value = data.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Problem("line_malformed", f"field {name!r} is missing or of the wrong type")
    return value


def _hex(text: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(text))
    except ValueError:
        raise _Problem(f"{what}_malformed", f"{what} is not hex") from None


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise _Problem("line_malformed", f"{what} is not a list")
    return [b64decode(str(v), what=what) for v in values]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


class _Verifier:
    def __init__(self, trusted_key: bytes | None, trusted_checkpoint: notes.Checkpoint | None, trusted_note: bytes):
        self.trusted_key = trusted_key
        self.trusted_checkpoint = trusted_checkpoint
        self.trusted_note = trusted_note
        self.report = Report()
        self.digests = fmt.SectionDigests()
        self.section = -1
        self.header_key: bytes | None = None
        self.checkpoint_note = ""
        self.root: bytes | None = None
        self.keyring = KeyRing()
        self.key_lines: dict[str, dict[str, Any]] = {}
        self.last_seq = 0
        self.last_hash = GENESIS_PREV
        self.contiguous = True
        self.accumulator = RootAccumulator()
        self.consistent_roots: dict[int, bytes] = {}
        self.params: Parameters | None = None
        self.sources: list[Source] = []
        self.activities: list[Activity] = []
        self.masses: dict[int, float] = {}
        self.recomputed: dict[tuple[str, str], dict[int, Footprint] | None] = {}
        self.manifest: dict[str, Any] | None = None

    def fail(self, where: str, code: str, message: str) -> None:
        self.report.failures.append(Failure(where, code, message))

    # --- the file, line by line ----------------------------------------------------------------

    def run(self, lines: Iterable[bytes]) -> Report:
        for number, raw in enumerate(lines, start=1):
            where = f"line {number}"
            if not raw.endswith(b"\n"):
                self.fail("file", "export_truncated", f"line {number} is cut off: the file ends mid-line")
                break
            if self.manifest is not None:
                self.fail(where, "trailing_data", "lines follow the signed manifest")
                break
            try:
                line = json.loads(raw)
            except (UnicodeDecodeError, ValueError):
                self.fail(where, "line_malformed", "not a JSON line")
                continue
            kind = line.get("type") if isinstance(line, dict) else None
            if kind == fmt.MANIFEST:
                self.manifest = line
                continue
            section = fmt.SECTION_OF_TYPE.get(str(kind))
            if section is None:
                self.fail(where, "line_type_unknown", f"no line type {kind!r} in this format")
                continue
            position = fmt.SECTIONS.index(section)
            if position < self.section:
                self.fail(where, "section_out_of_order", f"a {kind} line after the {fmt.SECTIONS[self.section]}")
            self.section = max(self.section, position)
            self.digests.add(section, raw)
            if number == 1 and kind != "header":
                self.fail(where, "header_missing", "the export does not start with its header")
                return self.report
            try:
                self._dispatch(str(kind), line)
            except (_Problem, LedgerError, CarbonError) as exc:
                self.fail(self._where(kind, line, where), exc.code, exc.message)
        self._finish()
        return self.report

    @staticmethod
    def _where(kind: Any, line: dict[str, Any], fallback: str) -> str:
        if kind == "entry" and isinstance(line.get("seq"), int):
            return f"seq {line['seq']}"
        if kind == "result":
            return f"node {line.get('node')} {line.get('method')}/{line.get('chain')}"
        if kind == "consistency":
            return f"consistency from {line.get('fromSize')}"
        return fallback

    def _dispatch(self, kind: str, line: dict[str, Any]) -> None:
        if kind == "header":
            self._header(line)
        elif kind == "key":
            self._key(line)
        elif kind == "entry":
            self._entry(line)
        elif kind == "consistency":
            self._consistency(line)
        elif kind == "carbon":
            self._carbon(line)
        elif kind == "source":
            source = source_from_json(line)
            self.sources.append(source)
            self.masses[source.node] = source.mass_kg
        elif kind == "activity":
            activity = activity_from_json(line)
            self.activities.append(activity)
            self.masses.update(activity.outputs)
        elif kind == "result":
            self._result(line)

    # --- header, keys, entries ----------------------------------------------------------------

    def _header(self, line: dict[str, Any]) -> None:
        if line.get("format") != fmt.FORMAT or line.get("version") != fmt.VERSION:
            raise _Problem("format_unsupported", f"this verifier reads {fmt.FORMAT} version {fmt.VERSION}")
        self.report.origin = _get(line, "origin", str)
        selection = line.get("selection")
        self.report.selection = selection if isinstance(selection, dict) else {}
        platform = _get(line, "platformKey", dict)
        self.header_key = b64decode(str(platform.get("publicKey")), what="platform_key")
        checkpoint = _get(line, "checkpoint", dict)
        self.checkpoint_note = _get(checkpoint, "note", str)
        parsed, _ = notes.parse_checkpoint(self.checkpoint_note)
        if parsed.origin != self.report.origin:
            raise _Problem("checkpoint_origin_mismatch", "the checkpoint names another log than the header")
        if checkpoint.get("treeSize") != parsed.size or checkpoint.get("rootHash") != b64encode(parsed.root_hash):
            raise _Problem("checkpoint_note_mismatch", "the header's tree size or root differs from its signed note")
        self.root = parsed.root_hash
        self.report.tree_size = parsed.size
        self.report.root_hash = parsed.root_hash.hex()

    def _key(self, line: dict[str, Any]) -> None:
        self.key_lines[_get(line, "keyId", str)] = line

    def _entry(self, line: dict[str, Any]) -> None:
        seq = _get(line, "seq", int)
        after = _get(line, "after", int)
        self.report.entries += 1
        if line.get("selected") is True:
            self.report.selected += 1
        if after > self.last_seq:
            self.fail(
                f"seq {after}", "entry_missing", f"entry {after} is missing from the export (seq {seq} follows it)"
            )
        elif after < self.last_seq:
            self.fail(f"seq {seq}", "entry_unexpected", f"the entry says it follows {after}, not {self.last_seq}")
        if seq <= self.last_seq:
            self.fail(f"seq {seq}", "seq_out_of_order", f"seq {seq} comes after seq {self.last_seq}")
        document = _get(line, "document", str)
        kind = _get(line, "kind", str)
        organisation = _get(line, "organisation", str)
        stored_hash = _hex(line.get("entryHash"), "entry_hash")
        header = EntryHeader(
            seq=seq,
            kind=kind,
            organisation=organisation,
            digest=_hex(line.get("digest"), "digest"),
            key_id=_get(line, "keyId", str),
            signature=b64decode(str(line.get("signature")), what="signature"),
            prev_hash=_hex(line.get("prev"), "prev_hash"),
            recorded_at=parse_time(_get(line, "recordedAt", str)),
        )
        computed = header.entry_hash()
        follows = seq == self.last_seq + 1
        previous_hash = self.last_hash
        self.contiguous = self.contiguous and follows
        self.last_seq, self.last_hash = max(seq, self.last_seq), stored_hash
        if self.contiguous:
            self.accumulator.append(computed)
        problems: list[tuple[str, str]] = []
        if follows and header.prev_hash != previous_hash:
            problems.append(("chain_broken", "prev does not equal the hash of the entry before"))
        if computed != stored_hash:
            problems.append(("entry_hash_mismatch", "the entry hash differs from its header's hash"))
        if kind in KEY_KINDS:
            try:
                self.keyring.apply(seq, kind, organisation, json.loads(document))
            except (LedgerError, ValueError) as exc:
                problems.append((getattr(exc, "code", "document_malformed"), str(exc)))
        try:
            verify_entry(header, document.encode("utf-8"), self.keyring)
        except LedgerError as exc:
            problems.append((exc.code, exc.message))
        try:
            self._included(seq, computed, line.get("inclusionProof"))
        except LedgerError as exc:
            problems.append((exc.code, exc.message))
        for code, message in problems:
            self.fail(f"seq {seq}", code, message)

    def _included(self, seq: int, leaf: bytes, proof: Any) -> None:
        if self.root is None:
            raise LedgerError("inclusion_proof_invalid", "the export has no usable checkpoint to prove against")
        if seq > self.report.tree_size:
            raise LedgerError("entry_beyond_checkpoint", f"the checkpoint covers {self.report.tree_size} entries")
        merkle.verify_inclusion(leaf, seq - 1, self.report.tree_size, _hashes(proof, "inclusion_proof"), self.root)

    # --- consistency ------------------------------------------------------------------------------

    def _consistency(self, line: dict[str, Any]) -> None:
        first = _get(line, "fromSize", int)
        first_root = b64decode(str(line.get("fromRootHash")), what="root_hash")
        if _get(line, "toSize", int) != self.report.tree_size or self.root is None:
            raise _Problem("consistency_size_mismatch", "the proof does not end at the export's checkpoint")
        note = line.get("fromNote")
        if note is not None:
            checkpoint = self._platform_checkpoint(str(note))
            if checkpoint is None:
                raise _Problem("consistency_note_unsigned", f"no platform key signed the checkpoint of size {first}")
            if checkpoint.size != first or checkpoint.root_hash != first_root:
                raise _Problem("consistency_note_mismatch", "the proof starts elsewhere than its signed note")
        merkle.verify_consistency(
            first, self.report.tree_size, first_root, self.root, _hashes(line.get("proof"), "consistency_proof")
        )
        self.consistent_roots[first] = first_root
        self.report.consistency_proofs += 1

    def _platform_checkpoint(self, note: str | bytes) -> notes.Checkpoint | None:
        for public_key in platform_key_names(self.keyring):
            try:
                return notes.verify_checkpoint(note, self.report.origin, public_key)
            except LedgerError:
                continue
        return None

    # --- carbon -------------------------------------------------------------------------------------

    def _carbon(self, line: dict[str, Any]) -> None:
        self.params = parameters_from_json(line.get("parameters"))

    def _recomputed(self, method: str, chain: str) -> dict[int, Footprint] | None:
        if (method, chain) not in self.recomputed:
            results = None
            if self.params is None:
                self.fail("carbon", "carbon_inputs_missing", "the export has results but no engine parameters")
            else:
                try:
                    # The ledger-order walk: the standard library alone, and a solution
                    # independent of the platform's linear one.
                    results = walk(
                        self.sources,
                        self.activities,
                        method=method,
                        chain=chain,
                        params=self.params,
                    )
                except CarbonError as exc:
                    self.fail(f"carbon {method}/{chain}", exc.code, exc.message)
            self.recomputed[(method, chain)] = results
        return self.recomputed[(method, chain)]

    def _result(self, line: dict[str, Any]) -> None:
        node = _get(line, "node", int)
        method, chain = _get(line, "method", str), _get(line, "chain", str)
        exported = footprint_from_json(line.get("footprint"))
        results = self._recomputed(method, chain)
        self.report.results += 1
        if results is None:
            return
        recomputed = results.get(node)
        if recomputed is None:
            raise _Problem("result_not_recomputable", "the exported inputs give no footprint for this node")
        differences = list(_differences(exported, recomputed))
        total = _get(line, "totalPerKg", (int, float))
        if not _close(total, recomputed.total_per_kg):
            differences.append(f"totalPerKg exported {total!r}, recomputed {recomputed.total_per_kg!r}")
        mass = self.masses.get(node)
        total_kg = _get(line, "totalKg", (int, float))
        if mass is not None and not _close(total_kg, recomputed.total_per_kg * mass):
            differences.append(f"totalKg exported {total_kg!r}, recomputed {recomputed.total_per_kg * mass!r}")
        if differences:
            label = line.get("identifier") or node
            raise _Problem("result_mismatch", f"{label}: " + "; ".join(differences))

    # --- the manifest and what needs the whole file ---------------------------------------------------

    def _finish(self) -> None:
        manifest = self.manifest
        if manifest is None:
            self.fail("file", "export_truncated", "the export ends before its signed manifest")
        else:
            try:
                self._manifest(manifest)
            except (_Problem, LedgerError) as exc:
                self.fail("manifest", exc.code, exc.message)
        if self.root is not None:
            if self._platform_checkpoint(self.checkpoint_note) is None:
                self.fail("checkpoint", "checkpoint_signature_invalid", "no platform key of the export signed it")
            if self.contiguous and self.accumulator.size == self.report.tree_size:
                if self.accumulator.root() != self.root:
                    self.fail("checkpoint", "checkpoint_root_mismatch", "the entries do not give the checkpoint's root")
        self._keys_agree()
        if self.trusted_checkpoint is not None:
            self._trusted_checkpoint(self.trusted_checkpoint)

    def _manifest(self, manifest: dict[str, Any]) -> None:
        public_key = b64decode(str(manifest.get("publicKey")), what="manifest_key")
        signer = key_id(public_key)
        self.report.manifest_key_id = signer
        if manifest.get("keyId") != signer:
            raise _Problem("manifest_key_malformed", "keyId is not the SHA-256 of the manifest's public key")
        if self.trusted_key is not None and public_key != self.trusted_key:
            self.fail("manifest", "manifest_key_untrusted", f"signed by key {signer[:16]}…, not by the trusted key")
        try:
            verify_bytes(
                public_key_from_raw(public_key),
                fmt.manifest_signed_bytes(manifest),
                b64decode(str(manifest.get("signature")), what="signature"),
            )
        except LedgerError as exc:
            self.fail("manifest", "manifest_signature_invalid", exc.message)
        if self.header_key is not None and self.header_key != public_key:
            self.fail("manifest", "header_key_mismatch", "the header names another platform key than the manifest")
        record = self.keyring.keys.get(signer)
        if record is None or record.organisation != self.keyring.platform or record.custody != CUSTODY_PLATFORM:
            self.fail("manifest", "manifest_key_unregistered", "the signing key is not a platform key of this ledger")
        elif record.revoked_seq is not None:
            self.fail("manifest", "manifest_key_revoked", f"the platform revoked this key at seq {record.revoked_seq}")
        if manifest.get("treeSize") != self.report.tree_size:
            self.fail("manifest", "manifest_tree_size_mismatch", "the manifest covers another tree than the header")
        sections = manifest.get("sections")
        computed = self.digests.as_json()
        for name in fmt.SECTIONS:
            claimed = sections.get(name) if isinstance(sections, dict) else None
            if claimed != computed[name]:
                self.fail(f"section {name}", "section_digest_mismatch", _digest_difference(claimed, computed[name]))
        last = manifest.get("lastEntrySeq")
        if isinstance(last, int) and last > self.last_seq:
            self.fail(f"seq {last}", "entry_missing", f"entry {last} is missing from the end of the export")

    def _keys_agree(self) -> None:
        """The exported key list is a summary of the key entries: it must say what they say."""
        for identifier, record in self.keyring.keys.items():
            line = self.key_lines.pop(identifier, None)
            expected = {
                "organisation": record.organisation,
                "publicKey": b64encode(record.public_key),
                "validFrom": format_time(record.valid_from),
                "registeredSeq": record.registered_seq,
                "revokedSeq": record.revoked_seq,
            }
            if line is None:
                self.fail(f"seq {record.registered_seq}", "key_list_mismatch", f"key {identifier[:16]}… is not listed")
                continue
            wrong = sorted(name for name, value in expected.items() if line.get(name) != value)
            if wrong:
                self.fail(
                    f"seq {record.registered_seq}",
                    "key_list_mismatch",
                    f"key {identifier[:16]}…: {', '.join(wrong)} differ from the ledger",
                )
        for identifier in self.key_lines:
            self.fail("keys", "key_list_mismatch", f"key {identifier[:16]}… has no registration entry in the export")
        self.report.keys = len(self.keyring.keys)

    def _trusted_checkpoint(self, trusted: notes.Checkpoint) -> None:
        where = f"trusted checkpoint {trusted.size}"
        signed = self._platform_checkpoint(self.trusted_note)
        if signed is None and self.trusted_key is not None:
            try:
                signed = notes.verify_checkpoint(self.trusted_note, self.report.origin, self.trusted_key)
            except LedgerError:
                signed = None
        if trusted.origin != self.report.origin:
            self.fail(where, "trusted_checkpoint_origin_mismatch", f"it is a checkpoint of {trusted.origin}")
            return
        if signed is None:
            self.fail(where, "trusted_checkpoint_signature_invalid", "no platform key of this ledger signed it")
        if trusted.size == self.report.tree_size:
            if self.root != trusted.root_hash:
                self.fail(where, "trusted_checkpoint_mismatch", "the export's tree of the same size has another root")
        elif trusted.size in self.consistent_roots:
            if self.consistent_roots[trusted.size] != trusted.root_hash:
                self.fail(where, "trusted_checkpoint_mismatch", "the export's history gives another root at this size")
        else:
            self.fail(
                where,
                "trusted_checkpoint_unproven",
                f"the export carries no consistency proof from size {trusted.size} to {self.report.tree_size}; "
                "export again with --consistency-from",
            )


def _digest_difference(claimed: Any, held: dict[str, Any]) -> str:
    found = f"{held['lines']} lines with SHA-256 {held['sha256'][:16]}…"
    if not isinstance(claimed, dict):
        return f"the manifest has no digest of this section; the file holds {found}"
    said = f"{claimed.get('lines')} lines with SHA-256 {str(claimed.get('sha256'))[:16]}…"
    return f"the manifest says {said}, the file holds {found}"


def _differences(exported: Footprint, recomputed: Footprint) -> Iterator[str]:
    for stage in sorted(set(STAGES) | set(exported.per_kg) | set(recomputed.per_kg)):
        a, b = exported.per_kg.get(stage, 0.0), recomputed.per_kg.get(stage, 0.0)
        if not _close(a, b):
            yield f"perKg[{stage}] exported {a!r}, recomputed {b!r}"
    pairs = {
        "preConsumerShare": (exported.shares.pre_consumer, recomputed.shares.pre_consumer),
        "postConsumerShare": (exported.shares.post_consumer, recomputed.shares.post_consumer),
        "primaryDataShare": (exported.primary_data_share, recomputed.primary_data_share),
    }
    makes_exported, makes_recomputed = dict(exported.shares.by_make), dict(recomputed.shares.by_make)
    for make in sorted(set(makes_exported) | set(makes_recomputed)):
        pairs[f"postConsumerByMake[{make}]"] = (makes_exported.get(make, 0.0), makes_recomputed.get(make, 0.0))
    for name, (a, b) in pairs.items():
        if not _close(a, b):
            yield f"{name} exported {a!r}, recomputed {b!r}"
    if exported.pending_recycled != recomputed.pending_recycled:
        yield f"pendingRecycled exported {exported.pending_recycled}, recomputed {recomputed.pending_recycled}"


def verify_export(
    stream: IO[bytes], *, trusted_key: bytes | None = None, trusted_checkpoint: bytes | None = None
) -> Report:
    """Check the export read from ``stream``; the report lists every failure (none when all holds).

    ``trusted_key`` is the platform's raw public key obtained out of band; ``trusted_checkpoint``
    a signed checkpoint note kept from earlier. Raises ``VerificationError`` only when a trusted
    input is itself unusable or the stream cannot be read.
    """
    if trusted_key is not None and len(trusted_key) != 32:
        raise VerificationError("trusted_key_malformed", f"an Ed25519 public key has {PUBLIC_KEY_LENGTH} bytes")
    checkpoint = load_trusted_checkpoint(trusted_checkpoint) if trusted_checkpoint is not None else None
    verifier = _Verifier(trusted_key, checkpoint, trusted_checkpoint or b"")
    try:
        return verifier.run(iter(stream.readline, b""))
    except OSError as exc:
        raise VerificationError("export_unreadable", str(exc)) from exc
