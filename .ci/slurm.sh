#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests of `grader slurm` (root, Debian).
#
#   .ci/slurm.sh start   install slurm-wlm and munge if missing, write the config (this host's
#                        name and CPUs), start munged, slurmctld and slurmd, wait for the node
#   .ci/slurm.sh stop    stop the daemons this script started
#
# No accounting, no cgroups (proctrack/linuxproc, task/none): it runs in a container too.
# A cluster that already answers `sinfo` is left as it is, and so is a slurm.conf not written here.
set -euo pipefail

STATE=/run/grader-slurm
CONF=/etc/slurm/slurm.conf
MARK="# written by the grader kit's .ci/slurm.sh; removed by its stop"

start() {
    if command -v sinfo >/dev/null && timeout 5 sinfo -h >/dev/null 2>&1; then
        echo "slurm: a cluster is already reachable"
        return
    fi
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
    fi
    if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        echo "slurm: $CONF exists and was not written here; not touching it" >&2
        exit 1
    fi
    mkdir -p "$STATE/ctld" "$STATE/d" /var/log/slurm /run/munge
    chown munge:munge /run/munge
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        [ -s /etc/munge/munge.key ] || runuser -u munge -- /usr/sbin/mungekey --create
        runuser -u munge -- /usr/sbin/munged
        touch "$STATE/munged"
    fi
    local host node
    host=$(hostname -s)
    node=$(slurmd -C | head -1)  # NodeName=host CPUs=... RealMemory=...: what slurmd will find
    cat >"$CONF" <<EOF
$MARK
ClusterName=grader
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    slurmctld -c  # -c: no jobs left over from an earlier start
    slurmd
    for _ in $(seq 60); do
        state=$(sinfo -h -o %T 2>/dev/null || true)
        case "$state" in
            idle*|mixed*|allocated*) echo "slurm: node $host is $state"; return ;;
            down*|drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.5
    done
    echo "slurm: the node did not come up; see /var/log/slurm/" >&2
    tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    exit 1
}

stop() {
    [ -e "$CONF" ] && grep -qF "$MARK" "$CONF" || return 0
    # this cluster's jobs (tests stopped halfway leave some) end with it
    squeue -h -o %A 2>/dev/null | sort -u | xargs -r scancel 2>/dev/null || true
    for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    for d in slurmd slurmctld; do
        if [ -s "$STATE/$d.pid" ]; then
            pid=$(cat "$STATE/$d.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        fi
    done
    if [ -e "$STATE/munged" ] && [ -s /run/munge/munged.pid ]; then
        kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    fi
    rm -rf "$STATE" "$CONF"
    echo "slurm: stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
