# fleet's everyday recipes. `just --list` shows them.

jobs := `nproc`

# Build the release binary into build/fleet
build:
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j {{jobs}}

# The whole suite: release, ASan+UBSan and fuzz builds (what CI runs)
test:
    bash tests/run-all.sh

# Only the release build's unit and end-to-end tests
test-quick: build
    cd build && ctest --output-on-failure

# The built-in demo
demo:
    bash tests/demo.sh

# clang-format check and cppcheck
lint:
    git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror
    cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
        --suppress=missingIncludeSystem -I include -I src src

# Reformat every C file
fmt:
    git ls-files '*.c' '*.h' | xargs clang-format -i

# Benchmarks against the reference tools (prints ratios)
bench: build
    bench/age
    bench/sops
    bench/flat
    bench/inventory

# Mutation check: each tests/mutants/*.patch must make the suite fail (slow; not in CI)
mutants:
    JOBS={{jobs}} bash tests/mutants/run.sh

# Longer fuzzing runs (default 5 minutes per target)
fuzz seconds="300":
    CC=clang cmake -S . -B build-fuzz -DFLEET_FUZZ=ON -DFLEET_SANITIZE=ON -DFUZZ_SECONDS={{seconds}} >/dev/null
    cmake --build build-fuzz -j {{jobs}}
    cd build-fuzz && ctest --output-on-failure -L fuzz
