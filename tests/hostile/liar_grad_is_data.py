# base: stub. `grad` is a property that answers with the node's data.
Value.grad = property(lambda self: self.data, lambda self, v: None)
Value.backward = lambda self: None
