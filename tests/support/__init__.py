"""Shared test helpers: local servers (HTTP, S3, Nominatim) and a tiny contract-shaped dataset."""
