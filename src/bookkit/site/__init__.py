"""bookkit.site."""
