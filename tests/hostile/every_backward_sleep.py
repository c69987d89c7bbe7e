# base: reference. backward() sleeps forever, in every test that calls it.
import time


def backward(self):
    while True:
        time.sleep(3600)


Value.backward = backward
