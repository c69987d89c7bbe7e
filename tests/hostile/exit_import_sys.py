# base: reference. sys.exit() at import.
import sys
sys.exit()
