"""Notebook execution: the stamp on notebook pages, the status table, ``bookkit notebooks`` and the
outcome claims the notebooks are checked against."""
