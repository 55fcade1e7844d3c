#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A private single-node Slurm for the cluster tests: Debian's slurm-wlm (slurmctld + slurmd)
# and munge, run as root without systemd, everything (config, state, spool, logs, sockets,
# pid files) under DIR, on free ports, so it disturbs nothing else on the machine.
#   slurm_cluster.sh start DIR [OWNER_PID]  writes DIR/slurm.conf, starts munged, slurmctld,
#                                slurmd and waits until the node takes jobs; prints
#                                SLURM_CONF=DIR/slurm.conf. With OWNER_PID (the test), all three
#                                are stopped when that process ends, even if it crashed.
#   slurm_cluster.sh stop DIR    stops all three (also after a failed start)
set -euo pipefail

command=${1:?usage: slurm_cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm_cluster.sh start|stop DIR}")

stop() {
    for daemon in slurmd slurmctld munged; do
        if [ -f "$dir/$daemon.pid" ]; then
            kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true
        fi
    done
    for daemon in slurmd slurmctld munged; do
        if [ -f "$dir/$daemon.pid" ]; then
            local pid
            pid=$(cat "$dir/$daemon.pid")
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$dir/$daemon.pid"
        fi
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$command" in
stop)
    stop
    exit 0
    ;;
start) ;;
*)
    echo "usage: slurm_cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac

for program in munged slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
    if ! command -v "$program" >/dev/null && [ ! -x "/usr/sbin/$program" ]; then
        echo "slurm_cluster.sh: $program is not installed (Debian packages slurm-wlm, munge)" >&2
        exit 3
    fi
done
export PATH=$PATH:/usr/sbin
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
trap 'stop' ERR

# munge: a key of our own, its socket in DIR.
if [ ! -f "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
fi
munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed"

host=$(hostname -s)
# MERGEFRONT_SLURM_CPUS declares more CPUs than the machine has (config_overrides), to stand in
# for a wider cluster with short sleeping jobs (bench/run_slurm_benchmark.py).
cpus=${MERGEFRONT_SLURM_CPUS:-$(nproc)}
memory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
# MinJobAge: ended jobs stay listed by squeue for an hour, so the tests can count every job a
# run submitted (there is no accounting database to ask).
cat >"$dir/slurm.conf" <<CONF
ClusterName=mergefront-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
KillWait=2
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$((cpus < 4 ? 4 : cpus)) RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$dir/slurm.conf" -i
slurmd -f "$dir/slurm.conf" -N "$host"
for _ in $(seq 150); do
    if sinfo --noheader --format='%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
        trap - ERR
        if [ -n "${3:-}" ]; then
            owner=$3
            (
                while kill -0 "$owner" 2>/dev/null; do sleep 1; done
                "$0" stop "$dir"
            ) </dev/null >/dev/null 2>&1 &
        fi
        echo "SLURM_CONF=$dir/slurm.conf"
        exit 0
    fi
    sleep 0.2
done
echo "slurm_cluster.sh: the node did not come up; logs in $dir" >&2
sinfo -N -l >&2 || true
tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
