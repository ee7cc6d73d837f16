"""bookkit.nemorl."""
