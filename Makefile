# The two set-up commands: `make demo` and `make test`. Each installs what is missing
# (scripts/setup.sh, apt-get), builds, and runs.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all build binary setup demo test clean format

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The demo needs only the binary, not the tests.
binary: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target pgshift

demo: binary
	@$(BUILD)/pgshift demo

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

format:
	@find src test bench -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
