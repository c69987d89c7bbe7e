# base: reference. Every backward() never returns.
def backward(self):
    while True:
        pass


Value.backward = backward
