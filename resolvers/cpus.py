"""How many CPUs this process may really use: the default size of the argon2 pool.

`os.cpu_count()` counts the machine's CPUs. A container or a service manager gives a process
fewer: an affinity mask (`taskset`, cpusets) and a CFS quota (cgroup v2 `cpu.max`, cgroup v1
`cpu.cfs_quota_us` / `cpu.cfs_period_us`). argon2 threads beyond those only queue for the CPU
while each holds 64 MiB.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

PROC_SELF_CGROUP = Path("/proc/self/cgroup")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cpus(proc_self_cgroup: Path = PROC_SELF_CGROUP, cgroup_root: Path = CGROUP_ROOT) -> int:
    """The CPUs of the affinity mask, lowered to the cgroup CPU quota (rounded up); at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota(proc_self_cgroup, cgroup_root)
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def cgroup_cpu_quota(proc_self_cgroup: Path, cgroup_root: Path) -> float | None:
    """The tightest CPU quota (in CPUs) on this process's cgroup and its ancestors, or None."""
    try:
        lines = proc_self_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas: list[float] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # cgroup v2: "0::/path"
            quotas += _v2_quotas(cgroup_root, path)
        elif "cpu" in controllers.split(","):
            quotas += _v1_quotas(cgroup_root, controllers, path)
    return min(quotas) if quotas else None


def _ancestors(base: Path, path: str) -> list[Path]:
    """`base/path` and every directory above it up to `base`, deepest first."""
    parts = [p for p in path.split("/") if p]
    return [base.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]


def _v2_quotas(root: Path, path: str) -> list[float]:
    quotas = []
    for directory in _ancestors(root, path):
        try:
            limit, period = (directory / "cpu.max").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        if limit != "max" and float(period) > 0:
            quotas.append(float(limit) / float(period))
    return quotas


def _v1_quotas(root: Path, controllers: str, path: str) -> list[float]:
    quotas = []
    # The cpu controller is mounted as `cpu`, `cpu,cpuacct` or `cpuacct,cpu`; inside a
    # container with a cgroup namespace the process's path is the mount's root.
    for mount in {root / controllers, root / "cpu", root / "cpu,cpuacct", root / "cpuacct,cpu"}:
        for directory in _ancestors(mount, path):
            try:
                quota = int((directory / "cpu.cfs_quota_us").read_text())
                period = int((directory / "cpu.cfs_period_us").read_text())
            except (OSError, ValueError):
                continue
            if quota > 0 and period > 0:
                quotas.append(quota / period)
    return quotas
