#!/usr/bin/env bash
# A real single-node Slurm cluster for the integration tests (tests/integration/test_slurm.py).
#
#   tests/slurm_cluster.sh up      install slurm-wlm + munge if missing (root, apt-get), then
#                                  start munged, slurmctld and slurmd; idempotent
#   tests/slurm_cluster.sh status  exit 0 when the cluster answers; prints the SLURM_CONF line
#   tests/slurm_cluster.sh down    stop the three daemons by PID and remove the state directory
#   tests/slurm_cluster.sh env     print `export SLURM_CONF=... PATH=$STATE/bin:$PATH` (the
#                                  requeue-aware squeue first; eval "$(tests/slurm_cluster.sh env)")
#
# No systemd: every daemon runs as root from a state directory ($SEQ2CHROM_SLURM_DIR, default
# /tmp/seq2chrom-slurm) with its own slurm.conf, munge key and socket; nothing under /etc is
# touched. Clients find the cluster through SLURM_CONF=$STATE/slurm.conf, or, inside jobs (the
# slurm-jobstep plugin strips SLURM_* variables, SLURM_CONF included, before its `srun`), through
# Slurm's fallback location /run/slurm/conf, linked to $STATE. So `up` refuses to run where
# /etc/slurm/slurm.conf exists: clients in jobs would read that site's file instead.
#
# The one node is this host with its CPUs and memory. Partitions: `main` (default) and `gpu`, plus
# Biowulf's norm, quick and largemem. The node declares GRES gpu:v100x:2 backed by links to
# /dev/null and /dev/zero, so `--gpus=1`, `--gres=gpu:1` and `--gres=gpu:v100x:2` requests
# schedule (the "GPUs" are fake: jobs see CUDA_VISIBLE_DEVICES but run on the CPU), and
# lscratch:100 for Biowulf's `--gres=lscratch:N`.
set -euo pipefail

STATE="${SEQ2CHROM_SLURM_DIR:-/tmp/seq2chrom-slurm}"
CTLD_PORT="${SEQ2CHROM_SLURMCTLD_PORT:-16817}"
SLURMD_PORT="${SEQ2CHROM_SLURMD_PORT:-16818}"
CONF="$STATE/slurm.conf"
MUNGE_SOCKET="$STATE/munge/munge.socket"
NODE="$(hostname -s)"

log() { echo "slurm_cluster: $*" >&2; }

alive() { # alive PIDFILE: the process named in PIDFILE runs
	[[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

install_packages() {
	local missing=()
	command -v munged >/dev/null || missing+=(munge)
	command -v slurmctld >/dev/null || missing+=(slurmctld)
	command -v slurmd >/dev/null || missing+=(slurmd)
	command -v sbatch >/dev/null || missing+=(slurm-client)
	((${#missing[@]} == 0)) && return 0
	if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
		log "missing ${missing[*]}; install with: sudo apt-get install -y slurm-wlm munge"
		exit 2
	fi
	log "installing slurm-wlm munge (apt-get)"
	# policy-rc.d keeps the packages' init scripts from starting daemons of their own.
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		slurm-wlm munge >/dev/null
	((created_policy)) && rm -f "$policy"
	return 0
}

write_config() {
	if [[ -e /etc/slurm/slurm.conf ]]; then
		log "/etc/slurm/slurm.conf exists (a real Slurm site?): clients in test jobs would use it"
		exit 2
	fi
	mkdir -p "$STATE"/{munge,ctld,spool,log,dev}
	chmod 700 "$STATE/munge"
	if [[ ! -s "$STATE/munge/munge.key" ]]; then
		dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
	fi
	chmod 400 "$STATE/munge/munge.key"
	# Slurm wants GRES files to be character devices: two links to harmless ones.
	ln -sfn /dev/null "$STATE/dev/gpu0"
	ln -sfn /dev/zero "$STATE/dev/gpu1"

	# CPUs and memory as slurmd sees them; keep 1 GB back for the daemons.
	local cpus memory
	cpus="$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')"
	memory="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
	memory=$((memory > 2048 ? memory - 1024 : memory))

	cat >"$CONF" <<EOF
# Written by tests/slurm_cluster.sh: single-node test cluster, no systemd, no accounting.
ClusterName=seq2chrom-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.txt
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
# Finished jobs stay visible to squeue/scontrol for an hour: the status command is squeue.
MinJobAge=3600
KillWait=5
InactiveLimit=0
# Jobs are requeueable only when they ask for it (--requeue; profiles do for training).
JobRequeue=0
GresTypes=gpu,lscratch
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory Gres=gpu:v100x:2,lscratch:100 State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
# Biowulf's partition names, so profiles/biowulf submits here unchanged.
PartitionName=norm Nodes=$NODE MaxTime=INFINITE State=UP
PartitionName=quick Nodes=$NODE MaxTime=INFINITE State=UP
PartitionName=largemem Nodes=$NODE MaxTime=INFINITE State=UP
EOF
	cat >"$STATE/gres.conf" <<EOF
NodeName=$NODE Name=gpu Type=v100x File=$STATE/dev/gpu[0-1]
NodeName=$NODE Name=lscratch Count=100
EOF
	mkdir -p /run/slurm
	ln -sfn "$STATE" /run/slurm/conf
	write_squeue
}

# $STATE/bin/squeue: the status command for Snakemake's Slurm plugin (tests put $STATE/bin first
# on PATH). Without accounting the plugin polls `squeue --format='%i|%T'`, and a job being
# requeued can show a failed state for a moment before it is pending again; the plugin would
# report it failed and resubmit it while Slurm reruns it. For a requeueable job (Requeue=1) in a
# failed state this squeue looks again for up to 15 s and reports the state it settles in.
write_squeue() {
	local real
	real="$(command -v squeue)"
	mkdir -p "$STATE/bin"
	cat >"$STATE/bin/squeue" <<EOF
#!/usr/bin/env bash
# Written by tests/slurm_cluster.sh: requeue-aware squeue for Snakemake's status checks.
set -o pipefail
case " \$* " in
*"--format=%i|%T "*) ;;
*) exec $real "\$@" ;;
esac
out="\$($real "\$@")" || exit \$?
failed='^(FAILED|NODE_FAIL|BOOT_FAIL|CANCELLED|TIMEOUT|PREEMPTED|OUT_OF_MEMORY|DEADLINE)\$'
while IFS='|' read -r id state; do
	[[ -z \$id ]] && continue
	if [[ \$state =~ \$failed ]] && scontrol show job -o "\$id" 2>/dev/null | grep -q ' Requeue=1 '; then
		for _ in \$(seq 30); do
			now="\$($real -h --states=all -j "\$id" -o %T 2>/dev/null)"
			[[ -n \$now && ! \$now =~ \$failed ]] && state="\$now" && break
			sleep 0.5
		done
	fi
	echo "\$id|\$state"
done <<<"\$out"
EOF
	chmod +x "$STATE/bin/squeue"
}

start_daemons() {
	export SLURM_CONF="$CONF"
	if ! alive "$STATE/munged.pid"; then
		munged --force --socket="$MUNGE_SOCKET" --key-file="$STATE/munge/munge.key" \
			--pid-file="$STATE/munged.pid" --log-file="$STATE/log/munged.log" \
			--seed-file="$STATE/munge/munged.seed"
	fi
	if ! alive "$STATE/slurmctld.pid"; then
		# -c: start from a clean job state; -i: ignore state it cannot recover.
		slurmctld -c -i -f "$CONF"
	fi
	if ! alive "$STATE/slurmd.pid"; then
		slurmd -N "$NODE" -f "$CONF"
	fi
	local tries
	for tries in $(seq 1 100); do
		# Daemons write their PID files just after forking; a missing one later means it died.
		if ((tries > 10)) && ! { alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid"; }; then
			break
		fi
		if timeout 5 sinfo -h -n "$NODE" -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
			return 0
		fi
		# A node left down by an earlier run comes back on request.
		if ((tries % 10 == 0)); then
			scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
		fi
		sleep 0.2
	done
	log "cluster did not come up; see $STATE/log"
	tail -n 20 "$STATE"/log/slurm*.log >&2 || true
	exit 1
}

stop_daemons() {
	local name pidfile pid
	for name in slurmd slurmctld munged; do
		pidfile="$STATE/$name.pid"
		alive "$pidfile" || continue
		pid="$(cat "$pidfile")"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
		rm -f "$pidfile"
	done
}

case "${1:-}" in
up)
	install_packages
	write_config
	start_daemons
	echo "export SLURM_CONF=$CONF"
	;;
status)
	if alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid" &&
		SLURM_CONF="$CONF" sinfo -h >/dev/null 2>&1; then
		echo "export SLURM_CONF=$CONF"
		SLURM_CONF="$CONF" sinfo
	else
		log "not running"
		exit 1
	fi
	;;
env)
	echo "export SLURM_CONF=$CONF PATH=$STATE/bin:\$PATH"
	;;
down)
	stop_daemons
	[[ "$(readlink /run/slurm/conf 2>/dev/null)" == "$STATE" ]] && rm -f /run/slurm/conf
	rm -rf "$STATE"
	;;
*)
	echo "usage: $0 up|status|env|down" >&2
	exit 2
	;;
esac
