# base: reference. backward() spins forever, in every test that calls it.


def backward(self):
    while True:
        pass


Value.backward = backward
