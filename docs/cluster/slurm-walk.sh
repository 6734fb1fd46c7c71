#!/usr/bin/env bash
# A walk split over a Slurm job array: one array task per shard, then one job that writes the
# animation. Submit with:   sbatch docs/cluster/slurm-walk.sh
# Every task must see the same folder (WORK below) on shared storage (NFS, Lustre, BeeGFS...), and
# every task must run the same command: the shards compare their settings and refuse to differ.
#SBATCH --job-name=sdwalk-walk
#SBATCH --array=0-7                 # 8 shards; frames i with i % 8 == task id
#SBATCH --cpus-per-task=4
#SBATCH --mem=6G                    # SD 1.5 at 512x512: sdwalk refuses to start above --max-memory
#SBATCH --time=04:00:00
#SBATCH --requeue                   # a requeued task renders only the frames it has not written
#SBATCH --output=sdwalk-%A_%a.log
set -euo pipefail

WORK=${WORK:-$HOME/walks}           # shared storage
MODEL=${MODEL:-$HOME/models/stable-diffusion-v1-5}
mkdir -p "$WORK"

# --shard auto reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT.
# A fixed --seed is required: every shard must plan the same walk.
sdwalk walk prompts --model "$MODEL" --height 512 --width 512 \
  -p "a lake at dawn, oil painting" -p "a lake at night, oil painting" \
  --seed 42 --num-interpolation-steps 96 --steps 20 \
  --threads "$SLURM_CPUS_PER_TASK" --shard auto \
  -o "$WORK/lake.mp4"

# The last task to finish submits nothing; the animation comes from one dependent job instead:
#   sbatch --dependency=afterany:$SLURM_ARRAY_JOB_ID --wrap "sdwalk assemble $WORK/lake"
# (afterany, not afterok: assemble then lists the frames of failed tasks, which you re-run with
#  sdwalk walk --resume $WORK/lake --shard K/8, or requeue with scontrol requeue JOBID_K).
