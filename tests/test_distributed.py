"""Several hosts: environment parsing, the single-process path, and a real two-process
sweep on this machine (two CPU processes joined by jax.distributed)."""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.random as jr
import numpy as np
import pytest

from meshjax import distributed
from meshjax.distributed import ClusterSpec, detect, first_host
from meshjax.sweep import Grid, device_mesh, sweep

ROOT = Path(__file__).resolve().parents[1]


def test_no_launcher_is_a_single_process():
    assert detect({}) == ClusterSpec()
    info = distributed.initialize({})
    assert (info.process_index, info.process_count, info.initialized_here) == (
        0,
        1,
        False,
    )
    assert not jax.distributed.is_initialized()
    assert distributed.is_main_process()


def test_explicit_jax_variables():
    spec = detect(
        {
            "JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234",
            "JAX_NUM_PROCESSES": "4",
            "JAX_PROCESS_ID": "3",
            "MESHJAX_LOCAL_DEVICE_IDS": "0,1",
        }
    )
    assert spec == ClusterSpec(4, 3, "10.0.0.1:1234", (0, 1), "env")


def test_slurm_inside_srun():
    env = {
        "SLURM_JOB_ID": "4097",
        "SLURM_NTASKS": "8",
        "SLURM_PROCID": "5",
        "SLURM_STEP_NODELIST": "gpu[017-020,031],login1",
    }
    spec = detect(env)
    assert spec == ClusterSpec(8, 5, f"gpu017:{4097 % 4096 + 61440}", None, "slurm")
    spec = detect(dict(env, MESHJAX_COORDINATOR_PORT="5555"))
    assert spec.coordinator_address == "gpu017:5555"
    # a batch script outside srun (no step node list) is one process
    assert (
        detect({"SLURM_JOB_ID": "1", "SLURM_NTASKS": "8", "SLURM_PROCID": "0"})
        == ClusterSpec()
    )


def test_open_mpi_and_pmi():
    env = {
        "OMPI_COMM_WORLD_SIZE": "2",
        "OMPI_COMM_WORLD_RANK": "1",
        "OMPI_MCA_orte_hnp_uri": "1531576320.0;tcp://10.96.0.1,10.148.0.1:34911",
        "MESHJAX_COORDINATOR_PORT": "7000",
    }
    assert detect(env) == ClusterSpec(2, 1, "10.96.0.1:7000", None, "ompi")
    no_uri = {"OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"}
    with pytest.raises(ValueError, match="JAX_COORDINATOR_ADDRESS"):
        detect(no_uri)
    assert (
        detect(dict(no_uri, JAX_COORDINATOR_ADDRESS="h:1")).coordinator_address == "h:1"
    )
    pmi = {"PMI_SIZE": "3", "PMI_RANK": "2", "JAX_COORDINATOR_ADDRESS": "node1:9000"}
    assert detect(pmi) == ClusterSpec(3, 2, "node1:9000", None, "pmi")
    assert (
        detect({"OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"}).num_processes
        == 1
    )


@pytest.mark.parametrize(
    "env, match",
    [
        ({"JAX_NUM_PROCESSES": "2"}, "JAX_PROCESS_ID is missing"),
        (
            {"JAX_NUM_PROCESSES": "two", "JAX_PROCESS_ID": "0"},
            "'two' is not an integer",
        ),
        (
            {
                "JAX_NUM_PROCESSES": "2",
                "JAX_PROCESS_ID": "2",
                "JAX_COORDINATOR_ADDRESS": "h:1",
            },
            "process id 2",
        ),
        ({"JAX_NUM_PROCESSES": "0", "JAX_PROCESS_ID": "0"}, "must be >= 1"),
        ({"JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "0"}, "no coordinator"),
        (
            {
                "JAX_NUM_PROCESSES": "2",
                "JAX_PROCESS_ID": "0",
                "JAX_COORDINATOR_ADDRESS": "h",
            },
            "host:port",
        ),
        (
            {
                "JAX_NUM_PROCESSES": "1",
                "JAX_PROCESS_ID": "0",
                "MESHJAX_LOCAL_DEVICE_IDS": "a",
            },
            "MESHJAX_LOCAL_DEVICE_IDS",
        ),
        (
            {
                "SLURM_NTASKS": "2",
                "SLURM_PROCID": "0",
                "SLURM_STEP_NODELIST": "n1",
                "MESHJAX_COORDINATOR_PORT": "99999",
            },
            "port 99999",
        ),
    ],
)
def test_bad_environments_are_named(env, match):
    with pytest.raises(ValueError, match=match):
        detect(env)


@pytest.mark.parametrize(
    "nodelist, host",
    [
        ("node001", "node001"),
        ("node001,host2", "node001"),
        ("node[001-015],host2", "node001"),
        ("node[007,009-015]", "node007"),
        ("n[1-4]-ib,x", "n1-ib"),
        ("a[1-2]b[3-4]", "a1b3"),
    ],
)
def test_first_host_of_a_slurm_node_list(nodelist, host):
    assert first_host(nodelist) == host


@pytest.mark.parametrize("nodelist", ["", "node[001", "node]1["])
def test_first_host_rejects_malformed_lists(nodelist):
    with pytest.raises(ValueError):
        first_host(nodelist)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _script():
    spec = importlib.util.spec_from_file_location(
        "sweep_script", ROOT / "scripts" / "sweep.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_processes_give_the_single_process_table(tmp_path):
    """scripts/sweep.py in two processes x 2 CPU devices == one process x 4 devices."""
    script = str(ROOT / "scripts" / "sweep.py")
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    port = _free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                script,
                "--out",
                str(tmp_path / "two"),
                "--cpu-devices",
                "2",
                "--points",
                "60",
                "--replicas",
                "2",
                "--chunk-size",
                "24",
            ],
            env=dict(
                env,
                JAX_COORDINATOR_ADDRESS=f"localhost:{port}",
                JAX_NUM_PROCESSES="2",
                JAX_PROCESS_ID=str(i),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], (
        outs[0][1][-2000:] + outs[1][1][-2000:]
    )
    assert "on 4 devices in 2 process(es)" in outs[0][0]
    # only process 0 writes and prints. Process 1's stdout may hold Gloo's own connection
    # lines, written unbuffered from C++ and sometimes split mid-line, so look for the
    # script's report rather than demanding an empty stream.
    assert "rows on" not in outs[1][0] and "points/s" not in outs[1][0]

    # the same sweep in this process, on 4 of its 8 devices, without x64 like the script
    with jax.enable_x64(False):
        grid = Grid.product(r0=np.linspace(0.5, 4.0, 60), jitter=[0.0, 0.1])
        table = sweep(
            _script().model,
            grid,
            key=jr.key(0),
            replicas=2,
            chunk_size=24,
            mesh=device_mesh(4),
            progress=False,
        )
    ref = table.to_csv(tmp_path / "one.csv").read_text()
    assert ref == (tmp_path / "two" / "sweep.csv").read_text()
    assert len(ref.splitlines()) == 1 + 60 * 2 * 2
