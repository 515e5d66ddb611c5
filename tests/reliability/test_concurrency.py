"""Concurrency (contract 6.H): parallel processes, mixed calls, a throttled HTTPS simulator.

No call may fail (throttling is waited out), nothing may leak (every CPI object accounted for,
counted VMs/disks exactly as the calls created and deleted them), and the processes, which share
one TMPDIR and each write a CA file there, must not collide or leave files behind. The fast tier
runs 12 processes; ``bench/soak.py`` runs bigger batches for many rounds.
"""

from __future__ import annotations

from typing import Any

import pytest
from parallel_batch import expected_objects, run_batch
from reliability_support import FIGURES, HEAVY, owned

from cloudstack_simulator import Simulator
from cloudstack_simulator.tls import make_test_ca
from cpi_framework.testing import make_cpi_config

BATCH = 24 if HEAVY else 12
RPS = 25


@pytest.fixture
def https_sim(tmp_path: Any) -> Any:
    ca, cert, key = make_test_ca(tmp_path / "pki")
    with Simulator(tls=(cert, key)) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"ca_cert": ca.read_text(),
                                                                   "timeouts": {"default": 120}})
        yield sim, config, tmp_path


def test_parallel_mixed_calls_against_a_throttled_cloud(https_sim):
    sim, config, tmp = https_sim
    before_vms = len(owned(sim.inventory(), "virtualmachines"))
    batch = run_batch(sim, config, tmp, BATCH, RPS)
    FIGURES.add("concurrency: parallel calls", batch.calls)
    FIGURES.add("concurrency: HTTP 429 answers waited out", batch.throttled)
    FIGURES.add("concurrency: failures", len(batch.failures))
    FIGURES.note("concurrency: batch seconds", round(batch.seconds, 1))
    assert not batch.failures, "\n".join(batch.failures)
    assert batch.throttled > 0, "the throttle never bit: the test proves nothing about 429 handling"
    assert not batch.leftover_temp_files, f"temp files left in the shared TMPDIR: {batch.leftover_temp_files}"
    assert batch.seconds < 120
    problems = expected_objects(sim, config, batch)
    after_vms = len(owned(sim.inventory(), "virtualmachines"))
    created, deleted = batch.counts["create_vm"], batch.counts["delete_vm"]
    if after_vms != before_vms + created + batch.counts["delete_vm"] + batch.counts["attach_disk"] - deleted:
        # setup made one VM per delete_vm and attach_disk call; delete_vm calls removed theirs
        problems.append(f"VM count {after_vms}, expected {before_vms} + {created} created + setup - {deleted}")
    FIGURES.add("leak checks")
    if problems:
        FIGURES.add("leaks found", len(problems))
    assert not problems, "\n".join(problems)
