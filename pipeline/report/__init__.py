"""Models -> reports: the Markdown report, its figures and the plots' data."""
