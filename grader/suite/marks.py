"""`@weight(n)`: the points a hidden test is worth (default 1)."""
import pytest

weight = pytest.mark.weight
