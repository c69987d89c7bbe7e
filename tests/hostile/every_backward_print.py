# base: reference. backward() prints without end, in every test that calls it.
import sys


def backward(self):
    line = "again " * 100 + "\n"
    while True:
        sys.stdout.write(line)


Value.backward = backward
