"""Peak resident memory of the process serving a loopback port (Linux /proc).

A server is found by its listening socket, not by the PID the bench spawned, so a launcher
that execs or forks (LiteLLM's CLI, `veil serve`) is measured where the work happens.
"""

from __future__ import annotations

import os
from pathlib import Path

_LISTEN = "0A"


def listening_pid(port: int) -> int | None:
    """The PID of the process holding a listening TCP socket on `port`, if any."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None


def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the most resident memory the process has held since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def peak_rss_of_ports(ports: tuple[int, ...]) -> int:
    """The sum of the peaks of the processes serving `ports` (each counted once)."""
    pids = {listening_pid(port) for port in ports}
    if None in pids:
        raise RuntimeError(f"no process listens on one of {ports}")
    return sum(peak_rss_bytes(pid) for pid in pids if pid is not None)
