# base: reference. backward() spins forever and swallows the grader's time-limit exception,
# so its process must be killed, in every test that calls it.


def backward(self):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


Value.backward = backward
