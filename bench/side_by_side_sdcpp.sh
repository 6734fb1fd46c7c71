#!/usr/bin/env bash
# sdwalk beside stable-diffusion.cpp on the same checkpoint, in one run, on this machine: one
# text-to-image generation each (same size, steps, threads), wall time, per-step and VAE-decode time
# (from each tool's own log) and peak RSS (GNU time), then the ratios. Nothing is built here: give
# the path of an sd.cpp build you have (its `sd` executable).
#
#   bench/side_by_side_sdcpp.sh --sd PATH/TO/sd --model CKPT.safetensors --tokenizer DIR \
#       [--size 512] [--steps 4] [--threads N] [--sdwalk build/sdwalk] [--runs 1]
#
# CKPT: an SD 1.x single-file checkpoint (original LDM layout) both tools read; --tokenizer: a CLIP
# tokenizer folder (vocab.json, merges.txt), which sdwalk needs for single files. Each tool runs
# --runs times in turn and its best run is reported. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

sd="" model="" tokenizer="" size=512 steps=4 threads=$(nproc) sdwalk=build/sdwalk runs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sd) sd=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --tokenizer) tokenizer=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --sdwalk) sdwalk=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "side_by_side_sdcpp: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -x "$sd" ] || { echo "side_by_side_sdcpp: --sd must name sd.cpp's 'sd' executable (got '$sd')" >&2; exit 2; }
[ -f "$model" ] || { echo "side_by_side_sdcpp: --model must name a single-file checkpoint (got '$model')" >&2; exit 2; }
[ -f "$tokenizer/vocab.json" ] || { echo "side_by_side_sdcpp: --tokenizer must name a folder with vocab.json" >&2; exit 2; }
[ -x "$sdwalk" ] || { echo "side_by_side_sdcpp: $sdwalk not found (scripts/build, or pass --sdwalk)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "side_by_side_sdcpp: needs GNU time (/usr/bin/time, Debian package 'time')" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
prompt="a photograph of an astronaut riding a horse"
grep -o 'avx[^ ]*' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/cpu: /'; echo "($(nproc) cores, $threads threads)"

# Runs a command under GNU time; prints "<wall s> <peak RSS MB>".
timed() {
  local log=$1; shift
  /usr/bin/time -f '%e %M' -o "$log.time" "$@" >"$log" 2>&1 || { echo "failed: $*" >&2; tail -5 "$log" >&2; exit 1; }
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$log.time"
}

best() { sort -n | head -1; }
for tool in sdwalk sdcpp; do
  : >"$out/$tool.runs"
  for r in $(seq "$runs"); do
    if [ $tool = sdwalk ]; then
      timed "$out/sdwalk.log" "$sdwalk" generate --model "$model" --tokenizer "$tokenizer" --prompt "$prompt" \
        --height "$size" --width "$size" --steps "$steps" --threads "$threads" --seed 1 --scheduler euler \
        -o "$out/sdwalk-$r.png" >>"$out/$tool.runs"
    else
      timed "$out/sdcpp.log" "$sd" -m "$model" -p "$prompt" -H "$size" -W "$size" --steps "$steps" -t "$threads" \
        -s 1 --sampling-method euler -o "$out/sdcpp-$r.png" >>"$out/$tool.runs"
    fi
  done
done
read -r walk_s walk_mb < <(best <"$out/sdwalk.runs")
read -r cpp_s cpp_mb < <(best <"$out/sdcpp.runs")
# Per-step and decode times from sd.cpp's log ("sampling completed, taking X s", "decode_first_stage
# completed, taking X s"), when its version prints them.
cpp_sampling=$(grep -o 'sampling completed, taking [0-9.]*' "$out/sdcpp.log" | grep -o '[0-9.]*$' | tail -1 || true)
cpp_decode=$(grep -o 'decode_first_stage completed, taking [0-9.]*' "$out/sdcpp.log" | grep -o '[0-9.]*$' | tail -1 || true)
printf '%-22s %10s %10s\n' "" sdwalk sd.cpp
printf '%-22s %10s %10s\n' "wall (s)" "$walk_s" "$cpp_s"
printf '%-22s %10s %10s\n' "peak RSS (MB)" "$walk_mb" "$cpp_mb"
[ -n "$cpp_sampling" ] && printf '%-22s %10s %10s\n' "sampling (s)" "-" "$cpp_sampling"
[ -n "$cpp_decode" ] && printf '%-22s %10s %10s\n' "vae decode (s)" "-" "$cpp_decode"
awk -v a="$walk_s" -v b="$cpp_s" -v c="$walk_mb" -v d="$cpp_mb" \
  'BEGIN { printf "ratio sdwalk / sd.cpp: wall %.2f, peak RSS %.2f\n", a / b, c / d }'
echo "sdwalk's own per-network figures on this machine: $sdwalk bench --height $size --width $size --threads $threads"
