# sitecustomize.py of a folder hand-in: if any interpreter imported it, math.isclose would lie.
import math
import pathlib

pathlib.Path(__file__).with_name("SITECUSTOMIZE_WAS_LOADED").write_text("yes")
math.isclose = lambda *a, **k: True
