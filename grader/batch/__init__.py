"""Grading a whole class: find the hand-ins, grade them in parallel, write what instructors use."""
