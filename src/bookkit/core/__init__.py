"""The shared foundation of every bookkit extension: settings, pages and front matter, the toc walker,
file output, the suggestion helper, the per-document store and bookkit's own events (imports nothing above)."""
