"""bookkit.core."""
