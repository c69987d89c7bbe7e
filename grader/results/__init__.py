"""The one results model of a graded hand-in (Gradescope's results.json, `model`): what
grading gives and every output is rendered from."""
