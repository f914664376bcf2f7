"""HTTP handlers: each one strings the pipeline stages together and nothing more."""
