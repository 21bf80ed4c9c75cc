"""argon2's pool and parameters from settings: the CPUs this process may really use (affinity
and cgroup quota), a queue a small multiple of them, costs at least OWASP's argon2id minimum."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from argon2 import extract_parameters
from pydantic import ValidationError

from resolvers import passwords
from resolvers.cpus import usable_cpus
from server.settings import Settings


def _cgroup(tmp_path: Path, proc_line: str, files: dict[str, str]) -> tuple[Path, Path]:
    proc = tmp_path / "cgroup"
    proc.write_text(proc_line + "\n")
    root = tmp_path / "sys"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return proc, root


def _affinity() -> int:
    return len(os.sched_getaffinity(0))


def test_no_cgroup_limit_means_the_affinity_mask(tmp_path: Path) -> None:
    proc, root = _cgroup(tmp_path, "0::/", {"cpu.max": "max 100000"})
    assert usable_cpus(proc, root) == _affinity()
    assert usable_cpus(tmp_path / "missing", tmp_path / "none") == _affinity()


def test_a_cgroup_v2_quota_lowers_it_rounded_up(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    proc, root = _cgroup(
        tmp_path,
        "0::/system.slice/app.service",
        {
            "cpu.max": "max 100000",
            "system.slice/cpu.max": "300000 100000",  # a parent's quota counts too
            "system.slice/app.service/cpu.max": "150000 100000",
        },
    )
    assert usable_cpus(proc, root) == 2


def test_a_cgroup_v1_quota_lowers_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    proc, root = _cgroup(
        tmp_path,
        "4:cpu,cpuacct:/docker/abc",
        {
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
        },
    )
    assert usable_cpus(proc, root) == 1  # half a CPU: at least one thread


def test_an_affinity_mask_smaller_than_the_quota_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    proc, root = _cgroup(tmp_path, "0::/", {"cpu.max": "800000 100000"})
    assert usable_cpus(proc, root) == 3


def test_the_pool_defaults_to_usable_cpus_and_four_waiting_per_thread(monkeypatch) -> None:
    monkeypatch.setattr("server.settings.usable_cpus", lambda: 3)
    settings = Settings()
    assert (settings.argon2_pool_threads(), settings.argon2_queue_size()) == (3, 12)
    monkeypatch.setenv("SESSIONGRAPH_ARGON2_THREADS", "5")
    monkeypatch.setenv("SESSIONGRAPH_ARGON2_QUEUE", "0")
    settings = Settings()
    assert (settings.argon2_pool_threads(), settings.argon2_queue_size()) == (5, 0)


def test_workers_share_the_cpus_between_their_pools(monkeypatch) -> None:
    monkeypatch.setattr("server.settings.usable_cpus", lambda: 2)
    monkeypatch.setenv("SESSIONGRAPH_WORKERS", "2")
    assert Settings().argon2_pool_threads() == 1  # not two threads each on two CPUs
    monkeypatch.setattr("server.settings.usable_cpus", lambda: 8)
    monkeypatch.setenv("SESSIONGRAPH_WORKERS", "3")
    settings = Settings()
    # Three threads each; each may queue as many as one process alone on the 8 CPUs, so a
    # worker given more than its share of connections queues them rather than refusing.
    assert (settings.argon2_pool_threads(), settings.argon2_queue_size()) == (3, 32)
    monkeypatch.setenv("SESSIONGRAPH_WORKERS", "16")
    assert Settings().argon2_pool_threads() == 1  # never none
    monkeypatch.setenv("SESSIONGRAPH_ARGON2_THREADS", "4")
    assert Settings().argon2_pool_threads() == 4  # an explicit size wins


def test_serve_workers_tell_each_worker_how_many_share_the_machine(monkeypatch) -> None:
    from server.cli import _worker_environment

    monkeypatch.setattr("server.settings.usable_cpus", lambda: 6)
    settings = Settings(workers=3, store="endpoint", endpoint_url="http://127.0.0.1:1")
    for name, value in _worker_environment(settings).items():
        monkeypatch.setenv(name, value)
    in_a_worker = Settings()  # what a worker process builds from its environment
    assert (in_a_worker.workers, in_a_worker.argon2_pool_threads()) == (3, 2)


def test_the_default_costs_are_at_least_owasps_minimum_with_one_lane() -> None:
    parameters = Settings().argon2_parameters()
    assert (parameters.time_cost, parameters.memory_kib, parameters.parallelism) == (3, 65536, 1)
    assert parameters.problems() == []
    made = extract_parameters(passwords.new_hasher(parameters).hash("a password"))
    assert (made.type.name, made.time_cost, made.memory_cost, made.parallelism) == (
        "ID",
        3,
        65536,
        1,
    )


@pytest.mark.parametrize(
    ("time_cost", "memory_kib"), [(1, 46_080), (2, 19_455), (3, 12_000), (5, 7_000)]
)
def test_costs_below_owasps_minimum_are_refused(time_cost: int, memory_kib: int) -> None:
    with pytest.raises(ValidationError, match=r"OWASP|greater than or equal to 7168"):
        Settings(argon2_time_cost=time_cost, argon2_memory_kib=memory_kib)


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(1, 47_104), (2, 19_456), (6, 7_168)])
def test_owasps_own_rows_are_accepted(time_cost: int, memory_kib: int) -> None:
    Settings(argon2_time_cost=time_cost, argon2_memory_kib=memory_kib)


def test_a_hash_made_with_older_parameters_still_verifies_and_asks_for_a_rehash() -> None:
    old = passwords.new_hasher(passwords.Argon2Parameters(time_cost=2, memory_kib=19_456))
    stored = old.hash("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert passwords.needs_rehash(stored)
    assert not passwords.needs_rehash(passwords.hash_password("correct horse battery"))
