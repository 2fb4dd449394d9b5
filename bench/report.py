"""Result tables, printed with rich and written into docs/benchmarks.md.

The script owns only the part of the document between the two markers below, so the
prose around it (method, caveats, reading of the figures) is kept across runs.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

from rich.console import Console
from rich.table import Table

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def software() -> str:
    extras = [name for name in ("uvloop", "httptools") if find_spec(name) is not None]
    return (
        f"Python {platform.python_version()}, uvicorn {_version('uvicorn')} "
        f"({' + '.join(extras) if extras else 'asyncio loop, h11 parser'}), "
        f"starlette {_version('starlette')}, httpx {_version('httpx')}"
    )


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def print_sections(console: Console, sections: list[Section]) -> None:
    for section in sections:
        table = Table(*section.headers, title=section.title, title_justify="left")
        for row in section.rows:
            table.add_row(*row)
        console.print(table)
        if section.note:
            console.print(section.note, style="dim", markup=False)
        console.print()


def markdown(sections: list[Section], command: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        f"Measured {when} with `{command}`.",
        "",
        f"- Machine: {machine()}",
        f"- Software: {software()}",
        "",
    ]
    for section in sections:
        lines += section_markdown(section)
    lines.append(END)
    return "\n".join(lines)


def section_markdown(section: Section) -> list[str]:
    """One section as Markdown lines: heading, table, note, blank line."""
    lines = [f"### {section.title}", ""]
    lines.append("| " + " | ".join(section.headers) + " |")
    lines.append("|" + "|".join("---" for _ in section.headers) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in section.rows]
    if section.note:
        lines += ["", section.note]
    lines.append("")
    return lines


def write(path: Path, results: str, preamble: str) -> None:
    """Replace the results block of `path`, or create the document around it."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
        if pattern.search(text):
            path.write_text(pattern.sub(lambda _: results, text, count=1), encoding="utf-8")
            return
        path.write_text(text.rstrip() + "\n\n" + results + "\n", encoding="utf-8")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(preamble + "\n" + results + "\n", encoding="utf-8")
