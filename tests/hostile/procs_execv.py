# base: reference. Turns itself into `sleep` at import: it never answers.
import os

os.execv("/bin/sleep", ["sleep", "MARKER"])
