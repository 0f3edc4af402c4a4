"""The OCR models as onnxruntime runs them fastest: RapidOCR's PP-OCRv4 detector and recogniser,
rewritten when they are loaded into graphs that compute the same function with fewer passes.

PaddlePaddle's export spells every activation of the PP-LCNetV3 backbone as separate elementwise
nodes: the convolution, a learnable affine (× a, + b), the hard-swish as four nodes (+ 3, clip to
0…6, × x, ÷ 6), then another affine. Each node is a pass over a feature map as large as the line,
run outside onnxruntime's blocked convolution layout (with a reorder each way); together they took
more time than the convolutions. Three rewrites remove most of them without changing the function:

- the affine after a convolution goes into its weights and bias (w·a, bias·a + b);
- the four-node hard-swish becomes x × HardSigmoid(x; 1/6, 1/2), which onnxruntime fuses into the
  convolution before it;
- the affine before an unpadded convolution goes into that convolution (w·a, bias + b·Σw). Before a
  padded one it stays: the zero padding would see b.

The model is edited at the protobuf level through a declared subset of onnx.proto (protobuf comes
with onnxruntime; field numbers never change by protobuf's rules, and fields not declared here pass
through untouched), in memory, nothing written to disk. A model that does not have these patterns
(another release of the wheel) comes out as it went in.
A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_FLOAT = 1  # AttributeProto.AttributeType


@cache
def _classes() -> dict[str, Any]:
    """The message classes of the subset of onnx.proto (proto2) that the rewrites read or write."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FieldDescriptorProto
    one, many = f.LABEL_OPTIONAL, f.LABEL_REPEATED
    proto = descriptor_pb2.FileDescriptorProto(
        name="fapiao_onnx_subset.proto", package="fapiao_onnx", syntax="proto2"
    )
    messages: dict[str, tuple[tuple[str, int, int, int, str], ...]] = {
        "Tensor": (
            ("dims", 1, f.TYPE_INT64, many, ""),
            ("data_type", 2, f.TYPE_INT32, one, ""),
            ("float_data", 4, f.TYPE_FLOAT, many, ""),
            ("int64_data", 7, f.TYPE_INT64, many, ""),
            ("name", 8, f.TYPE_STRING, one, ""),
            ("raw_data", 9, f.TYPE_BYTES, one, ""),
        ),
        "Attribute": (
            ("name", 1, f.TYPE_STRING, one, ""),
            ("f", 2, f.TYPE_FLOAT, one, ""),
            ("i", 3, f.TYPE_INT64, one, ""),
            ("t", 5, f.TYPE_MESSAGE, one, "Tensor"),
            ("ints", 8, f.TYPE_INT64, many, ""),
            ("type", 20, f.TYPE_INT32, one, ""),
        ),
        "Node": (
            ("input", 1, f.TYPE_STRING, many, ""),
            ("output", 2, f.TYPE_STRING, many, ""),
            ("name", 3, f.TYPE_STRING, one, ""),
            ("op_type", 4, f.TYPE_STRING, one, ""),
            ("attribute", 5, f.TYPE_MESSAGE, many, "Attribute"),
            ("domain", 7, f.TYPE_STRING, one, ""),
        ),
        "ValueInfo": (("name", 1, f.TYPE_STRING, one, ""),),
        "Graph": (
            ("node", 1, f.TYPE_MESSAGE, many, "Node"),
            ("initializer", 5, f.TYPE_MESSAGE, many, "Tensor"),
            ("output", 12, f.TYPE_MESSAGE, many, "ValueInfo"),
        ),
        "Model": (("graph", 7, f.TYPE_MESSAGE, one, "Graph"),),
    }
    for name, fields in messages.items():
        message = proto.message_type.add(name=name)
        for field, number, kind, label, type_name in fields:
            added = message.field.add(name=field, number=number, type=kind, label=label)
            if type_name:
                added.type_name = f".fapiao_onnx.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"fapiao_onnx.{name}"))
        for name in messages
    }


def rewritten(path: Path) -> bytes:
    """The serialized model at `path` with the rewrites applied (the same bytes' meaning when none
    applies)."""
    model = _classes()["Model"]()
    model.ParseFromString(path.read_bytes())
    _Rewrite(model.graph).run()
    return model.SerializeToString()


class _Rewrite:
    def __init__(self, graph: Any) -> None:
        import numpy as np

        self.np = np
        self.graph = graph
        self.consts: dict[str, Any] = {}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].HasField("t"):
                self.consts[node.output[0]] = node.attribute[0].t
        for tensor in graph.initializer:
            self.consts[tensor.name] = tensor
        self.outputs = {o.name for o in graph.output}
        self.nodes = [n for n in graph.node if n.op_type != "Constant"]
        self.added: dict[str, Any] = {}

    def run(self) -> None:
        self._affine_after_conv()
        self._hard_swish()
        self._affine_before_conv()
        used = {name for node in self.nodes for name in node.input}
        keep = [n for n in self.graph.node if n.op_type == "Constant" and n.output[0] in used]
        initializers = [t for t in self.graph.initializer if t.name in used]
        initializers += [t for name, t in self.added.items() if name in used]
        # copies first: the nodes and tensors kept are children of the fields about to be cleared
        nodes = [_copy(n) for n in keep + self.nodes]
        initializers = [_copy(t) for t in initializers]
        self.graph.ClearField("node")
        self.graph.node.extend(nodes)
        self.graph.ClearField("initializer")
        self.graph.initializer.extend(initializers)

    # --- reading the graph

    def array(self, name: str) -> Any:
        np = self.np
        tensor = self.consts.get(name)
        if tensor is None or tensor.data_type not in (_FLOAT, _INT64):
            return None
        dtype = np.float32 if tensor.data_type == _FLOAT else np.int64
        if tensor.raw_data:
            values = np.frombuffer(tensor.raw_data, dtype=dtype)
        else:
            values = np.array(
                tensor.float_data if tensor.data_type == _FLOAT else tensor.int64_data, dtype
            )
        return values.reshape(tuple(tensor.dims))

    def scalar(self, name: str) -> float | None:
        value = self.array(name)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None

    def by_constant(self, node: Any) -> tuple[str | None, float | None]:
        """(the other input, the scalar) of a binary node with one scalar constant input."""
        if len(node.input) != 2:
            return None, None
        a, b = node.input
        if a not in self.consts and (value := self.scalar(b)) is not None:
            return a, value
        if b not in self.consts and (value := self.scalar(a)) is not None:
            return b, value
        return None, None

    def consumers(self) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = defaultdict(list)
        for node in self.nodes:
            for name in node.input:
                found[name].append(node)
        return found

    def only(self, users: dict[str, list[Any]], name: str, op: str) -> Any:
        """The single node reading `name`, when it is an `op` and `name` is not a graph output."""
        if name in self.outputs or len(users[name]) != 1 or users[name][0].op_type != op:
            return None
        return users[name][0]

    def conv(self, node: Any) -> tuple[Any, Any] | None:
        """Weights and bias of a convolution whose weights are constants."""
        if node.op_type != "Conv" or len(node.input) < 2:
            return None
        weights = self.array(node.input[1])
        if weights is None:
            return None
        bias = self.array(node.input[2]) if len(node.input) > 2 else None
        if bias is None:
            if len(node.input) > 2:
                return None
            bias = self.np.zeros(weights.shape[0], self.np.float32)
        return weights, bias

    def set_conv(self, node: Any, weights: Any, bias: Any) -> None:
        names = []
        for part, value in (("w", weights), ("b", bias)):
            name = f"{node.input[0]}>{node.output[0]}.{part}"
            tensor = _classes()["Tensor"](name=name)
            tensor.data_type = _FLOAT
            tensor.dims.extend(value.shape)
            tensor.raw_data = self.np.ascontiguousarray(value, self.np.float32).tobytes()
            self.consts[name] = self.added[name] = tensor
            names.append(name)
        del node.input[1:]
        node.input.extend(names)

    # --- the rewrites

    def _affine_after_conv(self) -> None:
        users = self.consumers()
        gone: set[int] = set()
        for node in self.nodes:
            conv = self.conv(node)
            mul = self.only(users, node.output[0], "Mul") if conv else None
            scale = self.by_constant(mul)[1] if mul is not None else None
            add = self.only(users, mul.output[0], "Add") if scale is not None else None
            shift = self.by_constant(add)[1] if add is not None else None
            if conv is None or shift is None:
                continue
            weights, bias = conv
            self.set_conv(node, weights * scale, bias * scale + shift)
            node.output[0] = add.output[0]
            gone |= {id(mul), id(add)}
        self.nodes = [n for n in self.nodes if id(n) not in gone]

    def _hard_swish(self) -> None:
        """x + 3 → clip 0…6 → × x → ÷ 6  =  x × HardSigmoid(x; alpha 1/6, beta 1/2)."""
        users = self.consumers()
        node_class = _classes()["Node"]
        swaps: dict[int, tuple[Any, Any]] = {}
        gone: set[int] = set()
        for add in self.nodes:
            x, three = self.by_constant(add) if add.op_type == "Add" else (None, None)
            clip = self.only(users, add.output[0], "Clip") if three == 3.0 else None
            if clip is None or len(clip.input) != 3 or len(clip.attribute):
                continue
            if (self.scalar(clip.input[1]), self.scalar(clip.input[2])) != (0.0, 6.0):
                continue
            mul = self.only(users, clip.output[0], "Mul")
            if mul is None or sorted(mul.input) != sorted([x, clip.output[0]]):
                continue
            div = self.only(users, mul.output[0], "Div")
            if div is None or div.input[0] != mul.output[0] or self.scalar(div.input[1]) != 6.0:
                continue
            gate = f"{div.output[0]}.gate"
            sigmoid = node_class(op_type="HardSigmoid", name=gate, input=[x], output=[gate])
            for name, value in (("alpha", 1 / 6), ("beta", 0.5)):
                sigmoid.attribute.add(name=name, f=value, type=_ATTR_FLOAT)
            product = node_class(
                op_type="Mul", name=f"{gate}.mul", input=[x, gate], output=[div.output[0]]
            )
            gone |= {id(add), id(clip), id(mul)}
            swaps[id(div)] = (sigmoid, product)
        out: list[Any] = []
        for node in self.nodes:
            if id(node) in swaps:
                out.extend(swaps[id(node)])
            elif id(node) not in gone:
                out.append(node)
        self.nodes = out

    def _affine_before_conv(self) -> None:
        users = self.consumers()
        gone: set[int] = set()
        for mul in self.nodes:
            x, scale = self.by_constant(mul) if mul.op_type == "Mul" else (None, None)
            add = self.only(users, mul.output[0], "Add") if scale is not None else None
            shift = self.by_constant(add)[1] if add is not None else None
            if shift is None or add.output[0] in self.outputs:
                continue
            readers = users[add.output[0]]
            convs = [self.conv(r) if r.input[0] == add.output[0] else None for r in readers]
            if not readers or any(c is None for c in convs):
                continue
            if shift != 0.0 and any(_padded(r) for r in readers):
                continue
            for reader, (weights, bias) in zip(readers, convs, strict=True):
                summed = weights.sum(axis=tuple(range(1, weights.ndim)))
                self.set_conv(reader, weights * scale, bias + shift * summed)
                reader.input[0] = x
            gone |= {id(mul), id(add)}
        self.nodes = [n for n in self.nodes if id(n) not in gone]


def _padded(conv: Any) -> bool:
    """Pads given, or left to `auto_pad` (whatever its value: not read here, so taken as padded)."""
    return any((a.name == "pads" and any(a.ints)) or a.name == "auto_pad" for a in conv.attribute)


def _copy(message: Any) -> Any:
    out = type(message)()
    out.CopyFrom(message)
    return out
