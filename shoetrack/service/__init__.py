"""The one layer the CLI and the daemon both call: each function is a use case
(import these files, list runs, ...) built from the adapters and the core."""
