"""Autograder for a micrograd-style reverse-mode autodiff exercise."""
__version__ = "0.1.0"
