"""Feed formats. Each sub-package reads one source system's files (and writes demo ones)."""
