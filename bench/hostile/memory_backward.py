# base: reference. Every backward() grows a list until something stops it.
def backward(self):
    hoard = []
    while True:
        hoard.append([0] * 1000000)


Value.backward = backward
