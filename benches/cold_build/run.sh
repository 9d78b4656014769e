#!/usr/bin/env bash
# Cold builds side by side: the crate docs' hello sketch on circuit-runtime's
# default features (tests/hello) against a crate of only the crates it cannot
# do without (benches/cold_build/baseline). Each round builds both from an
# empty target folder (`cargo build`, the dev profile), alternating, so that
# whatever else the machine does weighs on both alike. Prints each build's
# seconds, the medians and their ratio; the bar is a ratio of at most 1.6.
#
#   bash benches/cold_build/run.sh [ROUNDS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

build() { # NAME MANIFEST -> seconds
  rm -rf "$scratch/$1"
  local start end
  start=$(date +%s.%N)
  cargo build --quiet --locked --manifest-path "$2" --target-dir "$scratch/$1"
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", e - s }'
}

declare -a hello baseline
for round in $(seq "$rounds"); do
  baseline+=("$(build baseline benches/cold_build/baseline/Cargo.toml)")
  hello+=("$(build hello tests/hello/Cargo.toml)")
  echo "round $round: baseline ${baseline[-1]} s, hello ${hello[-1]} s"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
b=$(median "${baseline[@]}")
h=$(median "${hello[@]}")
crates() { cargo tree --quiet --locked --manifest-path "$1" -e normal,build --prefix none | sort -u | wc -l; }
echo "baseline: median $b s, $(crates benches/cold_build/baseline/Cargo.toml) crates"
echo "hello:    median $h s, $(crates tests/hello/Cargo.toml) crates"
awk -v h="$h" -v b="$b" 'BEGIN { printf "ratio hello / baseline: %.2f\n", h / b }'
