"""Speed and memory benchmarks. Run all: `python -m benchmarks`; one: `python -m benchmarks cli`."""
