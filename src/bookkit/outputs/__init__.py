"""bookkit.outputs."""
