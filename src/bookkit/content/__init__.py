"""bookkit.content."""
