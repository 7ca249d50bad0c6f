"""Ranking players by score."""
