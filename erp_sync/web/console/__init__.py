"""The web console: pages for the people who run the integrations (sign in, overview, an integration and its
runs, the editor), served by `erp-sync serve` at `/`. `setup.install` adds it to the Flask app."""
