"""Codecs around the format-neutral model: JSON documents, GeoJSON, scenarios, MGRS."""
