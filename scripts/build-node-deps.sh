# Sourced by scripts/test.sh; filled in by its owner.
