# GPU check: one `seq2chrom check-gpu` job per GPU partition and type the run uses, before any
# GPU job (train, predict, finetune_*, motif_pwms and the variant rules) waits in a GPU queue.
# A job that cannot train on its GPU stops the run with one line and the fix, instead of each
# GPU job stopping after its own wait, three times with the retries.
#
# Inputs:  the profile's resources of the GPU rules (set-resources or --set-resources).
# Outputs: results/checks/gpu/{check}.txt ({check}: partition-type, e.g. gpu-v100x), written
#          only when a convolution + LSTM step ran on the GPU; its content is the report. Delete
#          results/checks/ to check again (after reinstalling, say).
#
# Which runs check (train.device): cpu never; auto where the profile asks a scheduler for a GPU
# for a GPU rule (profiles/slurm, profiles/biowulf), so the demo on profiles/local runs none;
# gpu always, on this machine too when the profile asks for no GPU.
#
# A GPU rule waits for its check through the input function gpu_checked(rule), which asks
# checkpoints.check_gpu for the flag and returns no file: the flag is never among a job's
# recorded inputs, so changing the profile or the GPU type does not rerun a trained model.
# The flags are also targets of rule all: Snakemake does not look for changed inputs of a job
# that waits for a checkpoint, so the checks must run whether or not a GPU job is due.

# Its settings and input functions: gpu_common.smk, included before the GPU rules.


wildcard_constraints:
    check=r"[A-Za-z0-9_.-]+",


checkpoint check_gpu:
    output:
        "results/checks/gpu/{check}.txt",
    log:
        "logs/check_gpu/{check}.log",
    benchmark:
        "benchmarks/check_gpu/{check}.tsv"
    # its failure is not passing: no second wait in the queue
    retries: 0
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        **{name: check_resource(name) for name in CHECK_RESOURCES},
        mem_mb=8000,
        runtime=15,
    shell:
        "seq2chrom check-gpu --out {output:q} > {log:q} 2>&1"
