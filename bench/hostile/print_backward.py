# base: reference. Every backward() prints without end.
def backward(self):
    line = "flood " * 1000
    while True:
        print(line)


Value.backward = backward
