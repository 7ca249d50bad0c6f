"""Tests of the code sandbox."""
