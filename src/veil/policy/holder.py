"""The policy in force: read from its file, and read again when the file changes.

A request takes the policy once, when it starts, and keeps it to the end: a reload never
changes the rules under a request in flight. A file that no longer validates is not
taken: the previous policy stays in force and the problem is logged (line and field).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from veil.policy.loading import Policy, PolicyError, load_policy

log = logging.getLogger("veil.policy")


class PolicyHolder:
    def __init__(
        self,
        policy: Policy,
        path: Path | None = None,
        *,
        check_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._path = path
        self._check_every = check_every
        self._clock = clock
        self._checked = clock()
        self._stamp = _stamp(path) if path is not None else None
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path, *, check_every: float = 1.0) -> PolicyHolder:
        """Raises PolicyError when the file is not a valid policy."""
        return cls(load_policy(path), path, check_every=check_every)

    def current(self) -> Policy:
        if self._path is None or self._clock() - self._checked < self._check_every:
            return self._policy
        with self._lock:
            self._checked = self._clock()
            stamp = _stamp(self._path)
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
            return self._policy

    def _reload(self) -> None:
        assert self._path is not None
        try:
            policy = load_policy(self._path)
        except PolicyError as error:
            log.error(
                "policy file changed but is not valid; keeping version %s:\n%s", self._policy.version, error
            )
            return
        if policy.version != self._policy.version:
            log.info("policy reloaded: version %s -> %s", self._policy.version, policy.version)
        self._policy = policy


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino
