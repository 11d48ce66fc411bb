"""headwater's benchmarks: one harness (:mod:`bench.harness`), one thin module per scenario
(:mod:`bench.scenarios`), one entry point (``python -m bench``). See docs/benchmarks.md."""
