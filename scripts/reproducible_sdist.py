"""Rewrite an sdist (.tar.gz) so the same commit gives the same bytes: members in name order, each
dated SOURCE_DATE_EPOCH, owned by no one, with fixed permissions, in a gzip stream with no time
or name of its own. (setuptools dates the members by the files' modification times, which a
checkout sets to whenever it ran.)

    python scripts/reproducible_sdist.py dist/NAME-VERSION.tar.gz
"""

import gzip
import io
import os
import sys
import tarfile
from pathlib import Path


def main(path: Path) -> None:
    epoch = int(os.environ["SOURCE_DATE_EPOCH"])
    with tarfile.open(path, "r:gz") as source:
        members = sorted(source.getmembers(), key=lambda member: member.name)
        contents = {m.name: source.extractfile(m).read() for m in members if m.isfile()}  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as target:
        for member in members:
            member.mtime = epoch
            member.uid = member.gid = 0
            member.uname = member.gname = ""
            member.mode = 0o755 if member.isdir() else 0o644
            member.pax_headers = {}
            data = contents.get(member.name)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    with (
        path.open("wb") as output,
        gzip.GzipFile(
            filename="", mode="wb", fileobj=output, mtime=0, compresslevel=9
        ) as compressed,
    ):
        compressed.write(buffer.getvalue())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
