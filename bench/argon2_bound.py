"""The argon2 bound on logins: `verify_password` calls per second with the configured
parameters, on as many threads as the process may use cores.

Run as its own process (`python -m bench.argon2_bound SECONDS THREADS`), like the server it
bounds, so that it competes for the machine the way the server does; prints the rate.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from resolvers.passwords import hash_password, verify_password

PASSWORD = "bench-password-0123"


def hashes_per_second(seconds: float, threads: int) -> float:
    """argon2-cffi releases the GIL while hashing, so threads run in parallel."""
    stored = hash_password(PASSWORD)
    deadline = time.monotonic() + seconds

    def work(_: int) -> int:
        done = 0
        while time.monotonic() < deadline:
            verify_password(stored, PASSWORD)
            done += 1
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(work, range(threads)))
    return total / (time.monotonic() - started)


if __name__ == "__main__":
    print(f"{hashes_per_second(float(sys.argv[1]), int(sys.argv[2])):.3f}")
