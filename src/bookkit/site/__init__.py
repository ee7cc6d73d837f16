"""The site as readers meet it: theme fixes, the version switcher, redirects from old URLs, the toc
guard, and the JavaScript (MathJax, widgets) the site serves itself."""
