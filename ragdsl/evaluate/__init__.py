"""Scoring answers and retrievals."""
