#!/usr/bin/env bash
# sdwalk beside stable-diffusion.cpp on the same checkpoint, in one run, on this machine: one
# text-to-image generation each (same size, steps, sampler, guidance, seed, threads, f16 weights),
# wall time and peak RSS (GNU time), per-step and VAE-decode times from each tool's own log, then the
# ratios.
#
#   bench/side_by_side_sdcpp.sh --sd PATH/TO/sd-cli --model CKPT.safetensors --tokenizer DIR
#       [--size 512] [--steps 4] [--threads 2] [--guidance 7.5] [--precision auto] [--runs 1]
#       [--sdwalk build/sdwalk] [--sd-args "..."] [--sdwalk-args "..."]
#
# CKPT: an SD 1.x single-file checkpoint (original LDM layout) both tools read, with f16 weights
# (both keep them f16: sdwalk --weights f16, sd.cpp --type f16); --tokenizer: a CLIP tokenizer folder
# (vocab.json, merges.txt), which sdwalk needs for single files (sd.cpp has CLIP's built in). Sampler:
# Euler (sdwalk --scheduler euler, sd.cpp --sampling-method euler, its default discrete sigmas),
# classifier-free guidance with an empty negative prompt on both. --precision is sdwalk's (auto: bf16
# matmuls where the CPU has AVX512_BF16/AMX, else f32; sd.cpp's CPU backend has no such switch). Each
# tool runs --runs times in turn and its fastest run is reported. --sd-args / --sdwalk-args: more flags
# for one tool (split at spaces), e.g. --sd-args "--diffusion-fa --vae-conv-direct". Run it on a
# quiet machine.
#
# Reproducing (no internet needed; nothing of sd.cpp enters this repository):
#   1. sd.cpp at the pinned commits, built outside the repo (prints the path of sd-cli):
#        nice tools/sdcpp/build.sh /work/.mirror/leejet+stable-diffusion.cpp/repo \
#            /work/.mirror/ggml-org+ggml/repo /work/sdcpp
#   2. sdwalk and the checkpoint writers, then an SD 1.5-sized random f16 model as one LDM file:
#        cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 \
#            --target sdwalk write_random_checkpoint write_ldm_checkpoint
#        build/bench/write_random_checkpoint /work/sdcpp-ckpt/random-sd15 --dtype f16 \
#            --tokenizer /work/shared/fixtures/clip_tokenizer
#        build/bench/write_ldm_checkpoint /work/sdcpp-ckpt/random-sd15 /work/sdcpp-ckpt/random-sd15-ldm.safetensors
#   3. bench/side_by_side_sdcpp.sh --sd /work/sdcpp/build/bin/sd-cli \
#        --model /work/sdcpp-ckpt/random-sd15-ldm.safetensors --tokenizer /work/shared/fixtures/clip_tokenizer --runs 3
#   On an AVX-512 machine, the AVX2-only pair: sd.cpp built with SDCPP_ISA=avx2 (into another OUT_DIR)
#   and sdwalk's forced AVX2 path (which caps oneDNN at AVX2 too):
#        SDWALK_ISA=avx2 bench/side_by_side_sdcpp.sh --sd /work/sdcpp-avx2/build/bin/sd-cli --precision f32 ...
# Random weights make noise images, but the work per step is a real SD 1.5's.
#
# What the rows mean: "sampling" is sd.cpp's denoising loop as it times it; sd.cpp loads weights
# lazily, so that includes reading the UNet's ("weight loading" sums every "loading tensors completed"
# line of its log). "per step" is sdwalk's own s/step line, and sd.cpp's sampling time less the UNet
# load inside it, over the steps (sdwalk maps its file before the loop; the page cache is warm after
# the first run, so use --runs 2 or more).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "side_by_side_sdcpp: $*" >&2; exit 2; }
sd="" model="" tokenizer="" size=512 steps=4 threads=2 guidance=7.5 precision=auto sdwalk=build/sdwalk runs=1
sd_args="" sdwalk_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sd|--model|--tokenizer|--size|--steps|--threads|--guidance|--precision|--sdwalk|--runs|--sd-args|--sdwalk-args)
      [ $# -ge 2 ] || die "$1 needs a value (see the header of $0)"
      v=$2; case "$1" in
        --sd) sd=$v ;; --model) model=$v ;; --tokenizer) tokenizer=$v ;; --size) size=$v ;;
        --steps) steps=$v ;; --threads) threads=$v ;; --guidance) guidance=$v ;;
        --precision) precision=$v ;; --sdwalk) sdwalk=$v ;; --runs) runs=$v ;;
        --sd-args) sd_args=$v ;; --sdwalk-args) sdwalk_args=$v ;;
      esac
      shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
[ -x "$sd" ] && [ -f "$sd" ] || die "--sd must name sd.cpp's sd-cli executable (got '$sd'; tools/sdcpp/build.sh builds one)"
[ -f "$model" ] || die "--model must name a single-file .safetensors checkpoint (got '$model')"
[ -f "$tokenizer/vocab.json" ] && [ -f "$tokenizer/merges.txt" ] \
  || die "--tokenizer must name a folder with vocab.json and merges.txt (got '$tokenizer')"
[ -x "$sdwalk" ] || die "$sdwalk not found (scripts/build, or pass --sdwalk)"
[ -x /usr/bin/time ] || die "needs GNU time (/usr/bin/time, Debian package 'time')"
for n in size steps threads runs; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "--$n must be a positive integer (got '${!n}')"
done
(( size % 64 == 0 )) || die "--size must be a multiple of 64 for SD 1.x (got $size)"
[[ $guidance =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--guidance must be a number (got '$guidance')"
case "$precision" in auto|f32|bf16) ;; *) die "--precision must be auto, f32 or bf16 (got '$precision')" ;; esac

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
prompt="a photograph of an astronaut riding a horse"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
echo "flags: $(grep -o -w 'avx[^ ]*\|amx[^ ]*\|f16c\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "sd.cpp: $("$sd" --version 2>&1 | head -1 || true)"
echo "run: ${size}x${size}, $steps steps euler, guidance $guidance, seed 1, $threads threads, f16 weights," \
  "sdwalk --precision $precision, best of $runs"
[ -z "$sd_args$sdwalk_args" ] || echo "extra flags: sd.cpp '$sd_args', sdwalk '$sdwalk_args'"
read -r -a sd_extra <<<"$sd_args"
read -r -a sdwalk_extra <<<"$sdwalk_args"

# Runs a command under GNU time, its output in $log; prints "<wall s> <peak RSS MB> <log>".
timed() {
  local log=$1; shift
  /usr/bin/time -f '%e %M' -o "$log.time" "$@" >"$log" 2>&1 || { echo "failed: $*" >&2; tail -5 "$log" >&2; exit 1; }
  awk -v f="$log" '{ printf "%s %.0f %s\n", $1, $2 / 1024, f }' "$log.time"
}

for tool in sdwalk sdcpp; do
  : >"$out/$tool.runs"
  for r in $(seq "$runs"); do
    if [ $tool = sdwalk ]; then
      timed "$out/sdwalk-$r.log" "$sdwalk" generate --model "$model" --tokenizer "$tokenizer" --prompt "$prompt" \
        --height "$size" --width "$size" --steps "$steps" --guidance-scale "$guidance" --threads "$threads" \
        --seed 1 --scheduler euler --weights f16 --precision "$precision" ${sdwalk_extra[@]+"${sdwalk_extra[@]}"} \
        -o "$out/sdwalk-$r.png" >>"$out/$tool.runs"
    else
      timed "$out/sdcpp-$r.log" "$sd" -m "$model" -p "$prompt" -H "$size" -W "$size" --steps "$steps" \
        --cfg-scale "$guidance" -t "$threads" -s 1 --sampling-method euler --type f16 \
        ${sd_extra[@]+"${sd_extra[@]}"} -o "$out/sdcpp-$r.png" >>"$out/$tool.runs"
    fi
  done
done
read -r walk_s walk_mb walk_log < <(sort -n "$out/sdwalk.runs" | head -1)
read -r cpp_s cpp_mb cpp_log < <(sort -n "$out/sdcpp.runs" | head -1)

# From the fastest run's logs. sdwalk: "denoising 4/4  X s/step  ETA ..." (its last progress line).
walk_step=$(tr '\r' '\n' <"$walk_log" | grep -o "denoising $steps/$steps *[0-9.]* s/step" | grep -o '[0-9.]* s/step' \
  | grep -o '^[0-9.]*' | tail -1 || true)
# and "text encoder X s, UNet Y s, VAE Z s" (its stage times, printed after the picture).
walk_stage() { grep -o "$1 [0-9.]* s" "$walk_log" | grep -o '[0-9.]*' | tail -1 || true; }
walk_text=$(walk_stage "text encoder")
walk_unet=$(walk_stage "UNet")
walk_decode=$(walk_stage "VAE")
# sd.cpp: "sampling completed, taking Xs", "decode_first_stage completed, taking Xs",
# "get_learned_condition completed, taking Xs", "loading tensors completed, taking Xs (...)".
cpp_time() { grep -o "$1 completed, taking [0-9.]*" "$cpp_log" | grep -o '[0-9.]*$' | tail -1 || true; }
cpp_sampling=$(cpp_time sampling)
cpp_decode=$(cpp_time decode_first_stage)
cpp_text=$(cpp_time get_learned_condition)
cpp_load=$(grep -o 'loading tensors completed, taking [0-9.]*' "$cpp_log" | grep -o '[0-9.]*$' \
  | awk '{ s += $1 } END { if (NR) printf "%.2f", s }' || true)
# The weight loads logged between "generating image" and "sampling completed": the UNet's, lazily.
cpp_sampling_load=$(tr '\r' '\n' <"$cpp_log" | awk '/generating image:/ { on = 1 } /sampling completed/ { on = 0 }
  on && /loading tensors completed, taking/ { sub(/.*loading tensors completed, taking /, ""); s += $0 + 0 }
  END { printf "%.2f", s }')
cpp_step=$([ -n "$cpp_sampling" ] && awk -v s="$cpp_sampling" -v l="$cpp_sampling_load" -v n="$steps" \
  'BEGIN { printf "%.2f", (s - l) / n }' || true)

row() { printf '%-30s %10s %10s\n' "$1" "${2:--}" "${3:--}"; }
row "" sdwalk sd.cpp
row "wall (s)" "$walk_s" "$cpp_s"
row "peak RSS (MB)" "$walk_mb" "$cpp_mb"
row "per step, CFG (s)" "$walk_step" "$cpp_step"
row "sampling (s)" "$walk_unet" "$cpp_sampling"
row "  of which UNet loading (s)" "" "$cpp_sampling_load"
row "text encoder (s)" "$walk_text" "$cpp_text"
row "vae decode (s)" "$walk_decode" "$cpp_decode"
row "weight loading (s)" "" "$cpp_load"
awk -v a="$walk_s" -v b="$cpp_s" -v c="$walk_mb" -v d="$cpp_mb" -v e="$walk_step" -v f="$cpp_step" \
    -v g="$walk_decode" -v h="$cpp_decode" 'BEGIN {
  printf "ratio sdwalk / sd.cpp: wall %.2f, peak RSS %.2f", a / b, c / d
  if (e != "" && f != "" && f > 0) printf ", per step %.2f", e / f
  if (g != "" && h != "" && h > 0) printf ", vae decode %.2f", g / h
  printf "\n" }'
echo "sdwalk's own per-network figures on this machine: $sdwalk bench --height $size --width $size --threads $threads"
