"""A process's resident memory, sampled over a run, and whether it levelled off."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path


def rss_mib(pid: int) -> float:
    """VmRSS of `pid` from /proc, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class Plateau:
    """The run cut in thirds: the largest sample of the first and of the last third."""

    first_max: float
    last_max: float
    peak: float
    samples: int

    @property
    def growth(self) -> float:
        """How far the last third's peak rose above the first third's, as a fraction."""
        return self.last_max / self.first_max - 1


class RssSampler:
    """Samples `pid`'s RSS every `interval` seconds on a thread, between `with` and its end."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self._pid = pid
        self._interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_mib(self._pid))
            self._stop.wait(self._interval)
        self.samples.append(rss_mib(self._pid))

    def plateau(self) -> Plateau:
        third = len(self.samples) // 3
        if third < 2:
            raise RuntimeError(f"too few RSS samples to judge a plateau: {len(self.samples)}")
        return Plateau(
            first_max=max(self.samples[:third]),
            last_max=max(self.samples[-third:]),
            peak=max(self.samples),
            samples=len(self.samples),
        )
