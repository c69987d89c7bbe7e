# base: reference. backward() kills its own process with SIGSEGV, in every test that calls it.
import os
import signal


def backward(self):
    os.kill(os.getpid(), signal.SIGSEGV)


Value.backward = backward
