#!/usr/bin/env bash
# Snakemake's controller as a Biowulf batch job on norm for up to 10 days (its limit), for
# full-size runs. From your project folder on /data (it holds config/config.yaml):
#
#   module load python/3.11    # only if seq2chrom's .venv was made with it (the venv needs it)
#   source /data/$USER/seq2chrom/.venv/bin/activate
#   sbatch /data/$USER/seq2chrom/profiles/biowulf/controller.sh
#
# What it does (stop 15 minutes before the limit, cancel running jobs, resubmit itself, resume)
# is profiles/slurm/controller.sh with the biowulf profile: ~/.config/snakemake/biowulf when
# `seq2chrom install-profile biowulf` installed one (edit that copy), else profiles/biowulf
# ($SEQ2CHROM_PROFILE, a folder, overrides both). Submit this file from the repository, not
# from an installed profile. Options after the script name go to snakemake.
# Log: seq2chrom-controller-<jobid>.log in the project folder.
#SBATCH --job-name=seq2chrom
#SBATCH --partition=norm
#SBATCH --cpus-per-task=2
#SBATCH --mem=8g
#SBATCH --time=10-00:00:00
#SBATCH --signal=B:USR1@900
#SBATCH --output=seq2chrom-controller-%j.log
set -euo pipefail

# Slurm runs a copy of this file: the submitted path locates the workflow.
script="${SEQ2CHROM_CONTROLLER:-}"
if [[ -z "$script" && -n "${SLURM_JOB_ID:-}" ]]; then
	script="$(scontrol show job -o "$SLURM_JOB_ID" | sed -n 's/.* Command=\([^ ]*\).*/\1/p')"
fi
script="$(realpath "${script:-$0}")"
generic="$(dirname "$script")/../slurm/controller.sh"
if [[ ! -f "$generic" ]]; then
	echo "controller: $script is not in a seq2chrom repository's profiles/ (an installed copy?);" \
		"submit the repository's: sbatch /path/to/seq2chrom/profiles/biowulf/controller.sh" >&2
	exit 2
fi
SEQ2CHROM_CONTROLLER="$script" exec bash "$generic" "$@"
