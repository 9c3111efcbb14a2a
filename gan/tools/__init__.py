"""Tools for the people who run the project: benchmarks, the load test, the GPU suite (CLI subcommands)."""
