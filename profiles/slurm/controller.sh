#!/usr/bin/env bash
# Snakemake's controller as a Slurm job, for full-size runs (training alone may take 2 days):
#
#   cd my-project                           # holds config/config.yaml
#   source path/to/seq2chrom/.venv/bin/activate
#   sbatch path/to/seq2chrom/profiles/slurm/controller.sh [snakemake options and targets]
#
# Submit this file from the repository (an installed profile folder holds no copy of it). It
# runs `snakemake --profile <profile>` on a CPU node for the job's time limit, with the first of:
# $SEQ2CHROM_PROFILE (a profile folder), the copy `seq2chrom install-profile slurm` made
# ($XDG_CONFIG_HOME/snakemake/slurm, usually ~/.config/snakemake/slurm), this folder; the log
# names it. 15 minutes before the limit (--signal) it stops Snakemake, which cancels
# its running jobs, and submits itself again to start after this job ends; the next round
# resumes (--rerun-incomplete reruns what was cut short; training restarts from its last
# epoch's checkpoint). At most SEQ2CHROM_CONTROLLER_ROUNDS rounds (default 10); after that, or
# after `scancel`, resubmit by hand with the same command. A job Slurm can never start (more CPUs
# than any node of its partition: pending with reason PartitionConfig) stops the run with one
# line; squeue is read every SEQ2CHROM_CONTROLLER_POLL seconds (default 60).
# Log: seq2chrom-controller-<jobid>.log in the project folder.
# Site settings (partition, account) go on the sbatch command line, e.g. -p PARTITION -A ACCOUNT;
# the jobs are charged to the controller's account unless the profile names one (slurm_account).
#SBATCH --job-name=seq2chrom
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=2-00:00:00
#SBATCH --signal=B:USR1@900
#SBATCH --output=seq2chrom-controller-%j.log
set -euo pipefail

# Slurm runs a copy of this file: the submitted path locates the workflow and its profile.
script="${SEQ2CHROM_CONTROLLER:-}"
if [[ -z "$script" && -n "${SLURM_JOB_ID:-}" ]]; then
	script="$(scontrol show job -o "$SLURM_JOB_ID" | sed -n 's/.* Command=\([^ ]*\).*/\1/p')"
fi
script="$(realpath "${script:-$0}")"
site="$(basename "$(dirname "$script")")" # slurm or biowulf
workflow="$(cd "$(dirname "$script")/../.." && pwd)"
round="${SEQ2CHROM_CONTROLLER_ROUND:-1}"
rounds="${SEQ2CHROM_CONTROLLER_ROUNDS:-10}"
poll="${SEQ2CHROM_CONTROLLER_POLL:-60}"
cd "${SLURM_SUBMIT_DIR:-.}"

if [[ ! -f "$workflow/Snakefile" || ! -d "$workflow/profiles/$site" ]]; then
	echo "controller: $script is not in a seq2chrom repository's profiles/ (an installed copy?);" \
		"submit the repository's: sbatch /path/to/seq2chrom/profiles/$site/controller.sh" >&2
	exit 2
fi
installed="${XDG_CONFIG_HOME:-${HOME:-}/.config}/snakemake/$site"
if [[ -n "${SEQ2CHROM_PROFILE:-}" ]]; then
	profile="$SEQ2CHROM_PROFILE" which="SEQ2CHROM_PROFILE"
elif [[ -f "$installed/config.yaml" ]]; then
	profile="$installed" which="installed by seq2chrom install-profile; the repository's is $workflow/profiles/$site"
else
	profile="$workflow/profiles/$site" which="the repository's; none installed at $installed"
fi
if [[ ! -f "$profile/config.yaml" ]]; then
	echo "controller: no config.yaml in the profile folder $profile (SEQ2CHROM_PROFILE?)" >&2
	exit 2
fi
if ! command -v snakemake >/dev/null; then
	echo "controller: snakemake not found; activate seq2chrom's venv before sbatch" >&2
	exit 2
fi

record="" # this job's scontrol record
if [[ -n "${SLURM_JOB_ID:-}" ]]; then
	record="$(scontrol show job -o "$SLURM_JOB_ID")"
fi
field() { sed -n "s|.* $1=\([^ ]*\).*|\1|p" <<<"$record"; }
# The jobs go to the controller's account where the profile names none (sbatch reads
# SBATCH_ACCOUNT; the profile's slurm_account, passed as -A, wins).
account="$(field Account)"
if [[ -z "${SBATCH_ACCOUNT:-}" && -n $account && $account != "(null)" ]]; then
	export SBATCH_ACCOUNT="$account"
fi
options=(-s "$workflow/Snakefile" --profile "$profile")
# Local rules and Snakemake's own work share the controller's CPUs (unset: every core of the node).
[[ -n "${SLURM_CPUS_PER_TASK:-}" ]] && options+=(--local-cores "$SLURM_CPUS_PER_TASK")

pid=""
stopping=0
stop() {
	echo "controller: $1, stopping Snakemake (it cancels its running jobs)"
	stopping=1
	if [[ -n $pid ]]; then kill -INT "$pid" 2>/dev/null || true; fi
}
trap 'stop "time limit near"' USR1
trap 'stop "cancelled"; rounds=0' TERM # scancel: stop without a next round

echo "controller: round $round of at most $rounds, $(date), in $PWD"
echo "controller: profile $profile ($which)"
# Only in a resumed round: the previous round, which this one waited for (afterany), may have
# been killed outright and left its lock. In round 1 a lock means another Snakemake works here,
# and this one stops with Snakemake's lock message.
if ((round > 1 && !stopping)); then
	snakemake "${options[@]}" --unlock "$@" >/dev/null 2>&1 || true
fi

# A pending job of this folder that Slurm can never start, seen on two polls in a row: sets
# `stuck` to one line naming it, what it asks for and what its partition's nodes have.
suspects="" stuck=""
find_stuck() {
	local id reason comment partition cpus memory limit workdir largest now="" name
	while IFS='|' read -r id reason comment partition cpus memory limit workdir; do
		[[ $reason == PartitionConfig || $reason == PartitionTimeLimit ]] || continue
		[[ "$(realpath -m "$workdir")" == "$(pwd -P)" ]] || continue
		now+=" $id"
		[[ " $suspects " == *" $id "* ]] || continue
		largest="$(sinfo -h -N -p "$partition" -o '%c %m' |
			awk '$1 > c { c = $1 } $2 > m { m = $2 } END { print c + 0 " CPUs and " m + 0 " MB" }')"
		name="${comment#rule_}"
		stuck="job $id of rule ${name%%_wildcards_*} can never start on partition $partition:"
		stuck+=" it asks for $cpus CPUs, $memory memory and $limit; the partition's largest node"
		stuck+=" has $largest, its time limit is $(sinfo -h -p "$partition" -o %l | head -n 1)"
		stuck+=" (Slurm: $reason); lower the rule's threads/cpus_per_task, mem_mb or runtime"
		stuck+=" in $profile/config.yaml"
		return 0
	done < <(squeue -u "$(id -un)" -h -t PENDING -o '%i|%r|%k|%P|%C|%m|%l|%Z' 2>/dev/null || true)
	suspects="$now"
}

# The watcher: a background loop that reads squeue every $poll seconds and, when a job can never
# start, writes the line to $stuck_file and signals this script (USR2).
stuck_file="$(mktemp)"
watch_queue() {
	set +e # a failed squeue or sinfo is tried again at the next poll
	trap - USR1 TERM
	while sleep "$poll"; do
		find_stuck
		if [[ -n $stuck ]]; then
			echo "$stuck" >"$stuck_file"
			kill -USR2 $$
			return 0
		fi
	done
}
trap 'stuck="$(cat "$stuck_file")"; echo "controller: error: $stuck"; stop "a job can never start"; rounds=0' USR2

status=0
if ((!stopping)); then
	watch_queue </dev/null >/dev/null 2>&1 &
	watcher=$!
	disown "$watcher" # no job-control notice when it is stopped below
	# Job control: a background job of a script otherwise ignores SIGINT, Snakemake's cancel.
	set -m
	snakemake "${options[@]}" --rerun-incomplete "$@" &
	pid=$!
	if ((stopping)); then kill -INT "$pid" 2>/dev/null || true; fi # signalled just before
	wait "$pid" || status=$?
	while kill -0 "$pid" 2>/dev/null; do # a trap ends `wait` early; wait for the shutdown
		status=0
		wait "$pid" || status=$?
	done
	kill "$watcher" 2>/dev/null || true
fi
rm -f "$stuck_file"
if [[ -n $stuck ]]; then
	echo "controller: stopped without a next round (a job can never start: see the error above)"
	exit 1
fi

# The next round asks for what this one got (options given to sbatch included).
same_resources() {
	local value
	record="$(scontrol show job -o "$SLURM_JOB_ID")"
	echo "--partition=$(field Partition) --cpus-per-task=$(field CPUs/Task) --time=$(field TimeLimit)"
	value="$(field MinMemoryCPU)"
	if [[ -n $value ]]; then echo "--mem-per-cpu=$value"; else echo "--mem=$(field MinMemoryNode)"; fi
	value="$(field Account)"
	[[ -n $value && $value != "(null)" ]] && echo "--account=$value"
	value="$(field QOS)"
	[[ -n $value && $value != "(null)" && $value != normal ]] && echo "--qos=$value"
	return 0
}

if ((stopping)); then
	if ((round < rounds)); then
		# shellcheck disable=SC2046 # one option per word
		next="$(sbatch --parsable --dependency="afterany:$SLURM_JOB_ID" $(same_resources) \
			--export="ALL,SEQ2CHROM_CONTROLLER=$script,SEQ2CHROM_CONTROLLER_ROUND=$((round + 1))" \
			"$script" "$@")"
		echo "controller: resubmitted as job $next (round $((round + 1)))"
	else
		echo "controller: stopped; resume with: sbatch $script $*"
	fi
	exit 0
fi
echo "controller: snakemake finished with status $status, $(date)"
exit "$status"
