"""One router per resource: service metadata, auth, predictions."""
