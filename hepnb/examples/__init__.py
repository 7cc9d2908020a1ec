"""Small worked examples that exercise the core (used by the tour notebook and the core's tests)."""
