"""Extensions that render the book's content from data: front matter, cards, learning paths, config
reference tables, the metrics glossary and the error lookup."""
