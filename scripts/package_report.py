"""Print what the Lambda code in the package built by `make package` holds, and its size."""

import sys
import zipfile
from collections import Counter


def main(package: str = "guardrails-ecs-nonrootuser.zip") -> None:
    with zipfile.ZipFile(package) as outer, outer.open("ResourceProvider.zip") as inner:
        entries = [entry for entry in zipfile.ZipFile(inner).infolist() if not entry.is_dir()]
    sizes: Counter[str] = Counter()
    for entry in entries:
        sizes[entry.filename.split("/")[0]] += entry.file_size
    total = sum(sizes.values())
    print(f"{package}: ResourceProvider.zip holds {len(entries)} files, {total:,} bytes unpacked")
    for name, size in sizes.most_common():
        print(f"  {size:>10,}  {name}")


if __name__ == "__main__":
    main(*sys.argv[1:])
