"""bookkit.text."""
