#!/usr/bin/env bash
# Snakemake's controller as a Slurm job, for full-size runs (training alone may take 2 days):
#
#   cd my-project                           # holds config/config.yaml
#   source path/to/seq2chrom/.venv/bin/activate
#   sbatch path/to/seq2chrom/profiles/slurm/controller.sh [snakemake options and targets]
#
# It runs `snakemake --profile <this folder>` on a CPU node for the job's time limit. 15 minutes
# before the limit (--signal) it stops Snakemake, which cancels its running jobs, and submits
# itself again to start after this job ends; the next round resumes (--rerun-incomplete reruns
# what was cut short; training restarts from its last epoch's checkpoint). At most
# SEQ2CHROM_CONTROLLER_ROUNDS rounds (default 10); after that, or after `scancel`, resubmit by
# hand with the same command. Log: seq2chrom-controller-<jobid>.log in the project folder.
# Site settings (partition, account) go on the sbatch command line, e.g. -p PARTITION -A ACCOUNT.
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
profile="${SEQ2CHROM_PROFILE:-$(dirname "$script")}"
workflow="$(cd "$(dirname "$script")/../.." && pwd)"
round="${SEQ2CHROM_CONTROLLER_ROUND:-1}"
rounds="${SEQ2CHROM_CONTROLLER_ROUNDS:-10}"
cd "${SLURM_SUBMIT_DIR:-.}"

if ! command -v snakemake >/dev/null; then
	echo "controller: snakemake not found; activate seq2chrom's venv before sbatch" >&2
	exit 2
fi

# Only this job runs Snakemake here (the next round waits for it: afterany), so a lock left by a
# round that was killed outright is stale.
snakemake -s "$workflow/Snakefile" --profile "$profile" --unlock "$@" >/dev/null 2>&1 || true

stopping=0
stop() {
	echo "controller: $1, stopping Snakemake (it cancels its running jobs)"
	stopping=1
	kill -INT "$pid" 2>/dev/null || true
}
trap 'stop "time limit near"' USR1
trap 'stop "cancelled"; rounds=0' TERM # scancel: stop without a next round

echo "controller: round $round of at most $rounds, $(date), in $PWD"
# Job control: a background job of a script otherwise ignores SIGINT, Snakemake's cancel signal.
set -m
snakemake -s "$workflow/Snakefile" --profile "$profile" --rerun-incomplete "$@" &
pid=$!
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do # a trap ends `wait` early; wait for the shutdown
	status=0
	wait "$pid" || status=$?
done

# The next round asks for what this one got (options given to sbatch included).
same_resources() {
	local record value
	record="$(scontrol show job -o "$SLURM_JOB_ID")"
	field() { sed -n "s|.* $1=\([^ ]*\).*|\1|p" <<<"$record"; }
	echo "--partition=$(field Partition) --cpus-per-task=$(field CPUs/Task)"
	echo "--mem=$(field MinMemoryNode) --time=$(field TimeLimit)"
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
