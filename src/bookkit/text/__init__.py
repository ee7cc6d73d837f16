"""What a page says, from its resolved doctree: the one extraction (pagetext) and the Markdown renderer."""
