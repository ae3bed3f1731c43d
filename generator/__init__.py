"""content/ -> static site: our Pelican plugin and build steps."""
