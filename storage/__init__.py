"""Where the project's files live, and how every file is written: atomically."""
