#!/usr/bin/env python3
# Usage: python3 loadtest/fsync_floor.py [BYTES] [COUNT]  (docs/BENCHMARKS.md, 2026-12-01)
# fdatasync latency on this disk: append N bytes, fdatasync, repeat at ~R/s.
import os, sys, time
n = int(sys.argv[1]) if len(sys.argv) > 1 else 16384
count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
path = os.path.join(os.environ.get("FSYNC_DIR", "."), "fsync-floor.tmp")
fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
buf = os.urandom(n)
lat = []
for i in range(count):
    os.write(fd, buf)
    t = time.perf_counter()
    os.fdatasync(fd)
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.0005)
os.close(fd); os.unlink(path)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"bytes={n} syncs={count} p50={q(0.5):.3f}ms p90={q(0.9):.3f}ms p99={q(0.99):.3f}ms p99.9={q(0.999):.3f}ms max={lat[-1]:.3f}ms")
