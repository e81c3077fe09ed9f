"""The witness's memory: the last cosigned checkpoint of each log, in one JSON file.

Written to a temporary file, flushed to disk and renamed over the old one, so a crash
leaves either the old state or the new one, never half of each. A lock file held for
the process's life keeps a second witness process off the same directory, and a thread
lock makes check-then-persist one step, so two concurrent submissions cannot both advance
(tlog-witness's rollback race).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from traceability.ledger.witness import LogState

STATE_FILE = "state.json"
LOCK_FILE = "witness.lock"

T = TypeVar("T")


class StateDirBusy(Exception):
    """Another witness process holds the state directory."""


class StateUnreadable(Exception):
    """The state file is not one this witness wrote: it refuses to start rather than forget what it cosigned."""


class WitnessState:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(directory / LOCK_FILE, "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise StateDirBusy(f"another witness process uses {directory}") from None
        self._mutex = threading.Lock()
        self._logs = self._load()

    def _load(self) -> dict[str, LogState]:
        path = self.directory / STATE_FILE
        if not path.exists():
            return {}
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            return {
                origin: LogState(int(entry["size"]), base64.b64decode(entry["root"]), str(entry["note"]))
                for origin, entry in stored["logs"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.close()
            raise StateUnreadable(f"{path} is not a witness state file: {exc!r}") from None

    def _save(self, logs: dict[str, LogState]) -> None:
        document = {
            "logs": {
                origin: {"size": s.size, "root": base64.b64encode(s.root_hash).decode("ascii"), "note": s.note}
                for origin, s in sorted(logs.items())
            }
        }
        temporary = self.directory / f".{STATE_FILE}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.directory / STATE_FILE)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def get(self, origin: str) -> LogState | None:
        with self._mutex:
            return self._logs.get(origin)

    def advance(self, decide: Callable[[dict[str, LogState]], tuple[str, LogState, T]]) -> T:
        """Run ``decide`` on the current state under the lock; persist the state it returns before returning.

        ``decide`` raises to refuse; otherwise it returns (origin, new state, result).
        """
        with self._mutex:
            origin, new_state, result = decide(dict(self._logs))
            logs = {**self._logs, origin: new_state}
            self._save(logs)
            self._logs = logs
            return result

    @contextmanager
    def closing(self) -> Iterator[WitnessState]:
        try:
            yield self
        finally:
            self.close()

    def close(self) -> None:
        self._lock_file.close()
