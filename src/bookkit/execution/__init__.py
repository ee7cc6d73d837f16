"""bookkit.execution."""
