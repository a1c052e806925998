"""meshjax benchmark suites (not collected by pytest). Run `python -m benchmarks --help`."""
