from __future__ import annotations

import math
from typing import Callable, Tuple, Union

Number = Union[int, float]


class Value:
    data: float
    grad: float
    prev: Tuple["Value", ...]
    _backward: Callable[[], None]

    def __init__(self, data: Number, children: Tuple[Value, ...] = (), op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self.prev = tuple(children)
        self.op = op
        self._backward = lambda: None

    @staticmethod
    def lift(x: Union[Value, Number]) -> Value:
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other: Union[Value, Number]) -> Value:
        other = Value.lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Union[Value, Number]) -> Value:
        other = Value.lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: Number) -> Value:
        out = Value(self.data ** exponent, (self,), f"**{exponent}")

        def _backward() -> None:
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward() -> None:
            self.grad += (1.0 - out.data ** 2) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward() -> None:
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Union[Value, Number]) -> Value:
        return self + (-Value.lift(other))

    def __rsub__(self, other: Number) -> Value:
        return Value.lift(other) - self

    def __truediv__(self, other: Union[Value, Number]) -> Value:
        return self * Value.lift(other) ** -1

    def __rtruediv__(self, other: Number) -> Value:
        return Value.lift(other) / self

    def __radd__(self, other: Number) -> Value:
        return self + other

    def __rmul__(self, other: Number) -> Value:
        return self * other

    def backward(self) -> None:
        order: list[Value] = []
        seen: set[int] = set()

        def visit(v: Value) -> None:
            if id(v) in seen:
                return
            seen.add(id(v))
            for p in v.prev:
                visit(p)
            order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
