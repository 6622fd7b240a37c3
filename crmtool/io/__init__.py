"""Readers, canonical schema and loading."""
