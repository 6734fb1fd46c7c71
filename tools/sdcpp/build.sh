#!/usr/bin/env bash
# Builds stable-diffusion.cpp's command-line program at the pinned commits, for
# bench/side_by_side_sdcpp.sh. Nothing of sd.cpp or ggml enters this repository: the sources are
# cloned from the given git directories into OUT_DIR/src, built in OUT_DIR/build.
#
#   tools/sdcpp/build.sh SRC_GIT GGML_GIT OUT_DIR      (JOBS=2 by default; run it under nice)
#
# SRC_GIT: a git directory (bare or not) holding stable-diffusion.cpp's history; GGML_GIT: one
# holding ggml's (sd.cpp's ggml submodule). Pinned:
#   stable-diffusion.cpp  97d2990807fe6d558e395f8764198d7c7e7b411c  ("chore: format code")
#   ggml (submodule)      8e800cef2948046cc47f9db6090491c6128ca42c
# CPU backend only, Release. SDCPP_ISA=native (default: GGML_NATIVE, this machine's CPU features) or
# avx2 (AVX2 + FMA + F16C + BMI2 only, no AVX-512: what an AVX2-only CPU's best build runs, so that an
# AVX-512 machine can bench it beside sdwalk's forced AVX2 path). The optional WebP/WebM
# submodules and the server's web frontend are left out; only the `sd-cli` target is built
# (this version's name for the old `sd`). Prints the path of the executable on success.
set -euo pipefail

SDCPP_COMMIT=97d2990807fe6d558e395f8764198d7c7e7b411c
GGML_COMMIT=8e800cef2948046cc47f9db6090491c6128ca42c

[ $# -eq 3 ] || { echo "usage: $0 SRC_GIT GGML_GIT OUT_DIR" >&2; exit 2; }
src_git=$1 ggml_git=$2 out=$3
jobs=${JOBS:-2}
case "${SDCPP_ISA:-native}" in
  native) isa_flags=(-DGGML_NATIVE=ON) ;;
  avx2) isa_flags=(-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
                   -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF
                   -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
                   -DGGML_AMX_BF16=OFF) ;;
  *) echo "sdcpp/build: SDCPP_ISA='${SDCPP_ISA}': expected native or avx2" >&2; exit 2 ;;
esac
for g in "$src_git" "$ggml_git"; do
  git -C "$g" rev-parse --git-dir >/dev/null 2>&1 \
    || { echo "sdcpp/build: '$g' is not a git directory" >&2; exit 2; }
done
git -C "$src_git" cat-file -e "$SDCPP_COMMIT^{commit}" 2>/dev/null \
  || { echo "sdcpp/build: $src_git lacks stable-diffusion.cpp commit $SDCPP_COMMIT" >&2; exit 2; }
git -C "$ggml_git" cat-file -e "$GGML_COMMIT^{commit}" 2>/dev/null \
  || { echo "sdcpp/build: $ggml_git lacks ggml commit $GGML_COMMIT" >&2; exit 2; }
command -v cmake >/dev/null || { echo "sdcpp/build: needs cmake" >&2; exit 2; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src
# A checkout from the git directories, at the pinned commits (kept between runs).
[ -d "$src/.git" ] || git clone --quiet --no-checkout "$src_git" "$src"
git -C "$src" fetch --quiet "$src_git" "$SDCPP_COMMIT" 2>/dev/null || true
# A snapshot may lack its largest blobs. Those under assets/ are not built; the tokenizer vocabularies
# of other model families (T5, Qwen, Mistral, Gemma, ...) under src/tokenizers/vocab/ are compiled in
# but SD 1.x only reads CLIP's. Missing ones are left out of the checkout (sparse) and replaced by
# one-byte placeholders, so this build can run SD 1.x/2.x only. Any other missing file is an error.
missing=$(git -C "$src" ls-tree -r "$SDCPP_COMMIT" | while read -r _ type hash path; do
  if [ "$type" = blob ] && ! git -C "$src" cat-file -e "$hash" 2>/dev/null; then echo "$path"; fi; done)
vocab_dir=src/tokenizers/vocab
for path in $missing; do
  case "$path" in
    assets/*|$vocab_dir/*.hpp) ;;
    *) echo "sdcpp/build: $src_git lacks the contents of $path, which the build needs" >&2; exit 1 ;;
  esac
done
# Checked out once (both steps below remove the placeholders, which would rebuild that file each run).
# ($out/checked-out names the commit of the last complete checkout; a fresh clone's HEAD is no proof.)
if [ "$(cat "$out/checked-out" 2>/dev/null || true)" != "$SDCPP_COMMIT" ] \
   || [ "$(git -C "$src" rev-parse -q --verify HEAD 2>/dev/null || true)" != "$SDCPP_COMMIT" ]; then
  rm -f "$out/checked-out"
  if [ -n "$missing" ]; then
    git -C "$src" sparse-checkout set --no-cone '/*' $(printf '!/%s ' $missing) >/dev/null 2>&1
  else
    git -C "$src" sparse-checkout disable >/dev/null 2>&1 || true
  fi
  # (git names the absent blobs on stderr even outside the sparse checkout: shown on failure only)
  git -C "$src" -c advice.detachedHead=false checkout --quiet --force "$SDCPP_COMMIT" 2>"$out/checkout.log" \
    || { cat "$out/checkout.log" >&2; echo "sdcpp/build: checkout of $SDCPP_COMMIT failed" >&2; exit 1; }
  echo "$SDCPP_COMMIT" >"$out/checked-out"
fi
stubbed=""
for path in $missing; do
  case "$path" in $vocab_dir/*.hpp) stubbed="$stubbed $path" ;; esac
done
if [ -n "$stubbed" ]; then
  # The arrays vocab.cpp reads that no present header defines, as one zero byte each, all in the
  # first placeholder (the others empty). Rewritten only when they change (no needless rebuilds).
  present=$(cd "$src" && for f in "$vocab_dir"/*.hpp; do
    case " $stubbed " in *" $f "*) ;; *) echo "$f" ;; esac; done)
  used=$(grep -o '[A-Za-z0-9_]*_str)' "$src/$vocab_dir/vocab.cpp" | tr -d ')' | sort -u)
  first=${stubbed# }; first=${first%% *}
  for path in $stubbed; do
    tmp=$(mktemp)
    if [ "$path" = "$first" ]; then
      for name in $used; do
        (cd "$src" && grep -qs "\b$name\[\]" $present) \
          || echo "static const unsigned char $name[] = {0};  // placeholder: blob absent from the snapshot" >>"$tmp"
      done
    fi
    if cmp -s "$tmp" "$src/$path"; then rm -f "$tmp"; else mv "$tmp" "$src/$path"; chmod 644 "$src/$path"; fi
  done
  echo "sdcpp/build: placeholders (SD 1.x/2.x only) for vocabularies absent from the snapshot:$stubbed" >&2
fi
[ "$(git -C "$src" ls-tree HEAD ggml | awk '{ print $3 }')" = "$GGML_COMMIT" ] \
  || { echo "sdcpp/build: sd.cpp $SDCPP_COMMIT does not pin ggml $GGML_COMMIT" >&2; exit 1; }
if [ ! -d "$src/ggml/.git" ]; then
  rm -rf "$src/ggml"
  git clone --quiet --no-checkout "$ggml_git" "$src/ggml"
fi
git -C "$src/ggml" -c advice.detachedHead=false checkout --quiet --force "$GGML_COMMIT"

cmake -S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DSD_BUILD_EXAMPLES=ON \
  -DSD_WEBP=OFF -DSD_WEBM=OFF -DSD_SERVER_BUILD_FRONTEND=OFF "${isa_flags[@]}" \
  -DSD_CUDA=OFF -DSD_VULKAN=OFF -DSD_METAL=OFF -DSD_OPENCL=OFF -DGGML_OPENMP=ON >"$out/cmake.log" 2>&1 \
  || { echo "sdcpp/build: cmake configure failed, see $out/cmake.log" >&2; exit 1; }
cmake --build "$out/build" -j "$jobs" --target sd-cli >"$out/build.log" 2>&1 \
  || { echo "sdcpp/build: build failed, see $out/build.log" >&2; tail -20 "$out/build.log" >&2; exit 1; }
exe=$out/build/bin/sd-cli
[ -x "$exe" ] || { echo "sdcpp/build: built, but $exe is missing" >&2; exit 1; }
echo "$exe"
