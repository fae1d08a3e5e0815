"""What reading images costs the hook (rule r, ImageVerification), per invocation.

Run by `make bench-images`: a real registry on 127.0.0.1 (scripts/local_registry.py: Debian's
docker-registry with TLS and token authentication, an anonymous pull as from Docker Hub or
public.ecr.aws) holds ten images; a task definition of 1 and of 10 containers that set no User
is decided through the real entrypoint (handlers.hook):

- ImageVerification OFF, the floor (nothing is read: every container fails missing-user);
- TAG with a cold cache (the per-process cache emptied before each call: a token, a HEAD of the
  tag, the manifest and the configuration, per image);
- TAG with a warm cache (the tag is asked again, a HEAD and its token; the rest is cached);
- DIGEST with a warm cache (nothing is asked: a digest's manifest and configuration never change).

Loopback has no network latency: on Lambda each request adds the round trip to the registry
(tens of milliseconds), and the lookups of one invocation run in parallel. The table is printed and
written into docs/benchmarks.md between its "bench:images" markers.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "bench")]

from hook_event import hook_event  # noqa: E402
from local_registry import Image, local_registry  # noqa: E402
from measure import machine, record  # noqa: E402

from guardrails_ecs_nonrootuser import handlers, registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", "datetime.datetime.utcnow", DeprecationWarning)
    rows = []
    with tempfile.TemporaryDirectory() as work, local_registry(Path(work)) as local:
        os.environ["SSL_CERT_FILE"] = str(local.ca_file)
        digests = [local.push(f"public/app{n}", "v1", Image(f"{1000 + n}")) for n in range(10)]
        for containers in (1, 10):
            tags = [f"{local.host}/public/app{n}:v1" for n in range(containers)]
            pinned = [f"{local.host}/public/app{n}@{digests[n]}" for n in range(containers)]
            cases = {
                "OFF (nothing read)": (tags, "OFF", False),
                "TAG, cold cache": (tags, "TAG", True),
                "TAG, warm cache": (tags, "TAG", False),
                "DIGEST, warm cache": (pinned, "DIGEST", False),
            }
            for name, (images, mode, cold) in cases.items():
                properties = {
                    "ContainerDefinitions": [
                        {"Name": f"c{n}", "Image": image} for n, image in enumerate(images)
                    ],
                    "RuntimePlatform": {"CpuArchitecture": "X86_64"},
                }
                event = hook_event(properties, {"ImageVerification": mode})
                expected = "FAILED" if mode == "OFF" else "SUCCESS"
                samples = []
                for _ in range(args.calls):
                    if cold:
                        registry.CACHE.clear()
                    start = time.perf_counter()
                    answer = handlers.hook(event, None)
                    samples.append((time.perf_counter() - start) * 1000)
                    assert answer["hookStatus"] == expected, answer["message"]
                median = statistics.median(samples)
                p99 = sorted(samples)[int(len(samples) * 0.99) - 1]
                rows.append((containers, name, median, p99))
    floor = {c: m for c, name, m, _ in rows if name.startswith("OFF")}
    lines = [
        f"Measured on {machine()}, through handlers.hook, against a registry on 127.0.0.1 "
        f"({args.calls} calls each).",
        "",
        "| Containers without User | ImageVerification | Median (ms) | p99 (ms) | Added per "
        "container (ms) |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for containers, name, median, p99 in rows:
        added = (median - floor[containers]) / containers
        lines.append(f"| {containers} | {name} | {median:.2f} | {p99:.2f} | {added:.2f} |")
    section = "\n".join(lines) + "\n"
    print(section)
    record("images", section)


if __name__ == "__main__":
    main()
