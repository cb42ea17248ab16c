"""The `mlcicd` command line: parses, calls the library, prints, exits. No logic of its own."""
