"""The instructor's HTML report: `render(results, title)` returns one self-contained page."""
from grader.report.html import render

__all__ = ["render"]
