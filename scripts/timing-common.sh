# Shared by scripts/before-after.sh and scripts/readme-command-rounds.sh (sourced, not run): one
# timed run of a yinyang command, piped or in a pseudo-terminal (`script`, the progress bar).

# summary_field FILE KEY: one field of a run's summary.json.
summary_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }

# timed_run MODE RUN_DIR SCRATCH COMMAND...: runs COMMAND --out RUN_DIR (its earlier output
# removed first) and prints `seconds,train_seconds,test_accuracy,peak_rss_kb`.
timed_run() {
  local mode=$1 run=$2 scratch=$3
  shift 3
  rm -rf "$run"
  if [ "$mode" = piped ]; then
    /usr/bin/time -o "$scratch/time" -f "%e %M" "$@" --out "$run" | cat > /dev/null
  else
    script -qec "/usr/bin/time -o $scratch/time -f '%e %M' $* --out $run" /dev/null > /dev/null
  fi
  local seconds rss
  read -r seconds rss < "$scratch/time"
  echo "$seconds,$(summary_field "$run/summary.json" train_seconds),$(summary_field "$run/summary.json" test_accuracy),$rss"
}
