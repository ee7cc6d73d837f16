"""Machine-readable and searchable copies of the published pages: per-page JSON and the index, the llms
files, the Pagefind search and the assistant corpus."""
