# Shared by scripts/bench-vs-reference.sh and scripts/yinyang-size-rounds.sh (sourced, not run):
# where the reference checkout and its Python environment live, which reference commit is
# measured, and delgrad's side of the comparison, built and checked. Expects to run from the
# repository's root.

scratch="${TMPDIR:-/tmp}/delgrad-reference"
REF_DIR="${REF_DIR:-$scratch/fastAndDeep}"
REF_COMMIT="${REF_COMMIT:-33e4876dcf3c4164d5453e2196892f5d39e86161}"
VENV="${VENV:-$scratch/venv}"

# Builds the scaling example and sets `scaling` to its path. Cargo judges freshness by source
# paths relative to the package, so a build of another checkout into this target folder
# (CARGO_TARGET_DIR shared with a worktree of an older commit) can leave that checkout's binary
# here, judged fresh, and its dependency file is rewritten to name this checkout's sources; the
# binary itself records the folder it was compiled from.
build_scaling() {
    cargo build --release --example scaling >&2
    scaling=target/release/examples/scaling
    # Cargo records the physical folder; `pwd -P` resolves symbolic links the same way.
    local built_from here
    built_from="$("$scaling" --built-from)"
    here="$(pwd -P)"
    if [ "$built_from" != "$here" ]; then
        echo "error: $scaling was built from $built_from, not $here;" \
            "touch src/lib.rs examples/scaling.rs and re-run" >&2
        exit 1
    fi
}
