#!/usr/bin/python3
"""Export a tiny Fast R-CNN RoI head from PyTorch to ONNX, as a fixture for Ohem.Onnx's tests.

The module mirrors what Ohem.Onnx.Export.RoiHeadExporter writes: torchvision.ops.roi_pool
(exported by torchvision's ONNX symbolic as MaxRoiPool), flatten, fc6/fc7 (nn.Linear + ReLU),
then cls_score and bbox_pred. The parameter names (fc6.weight, ..., bbox_pred.bias) are the
initializer names of the exported model, the names the trainer publishes weights under, so one
set of weights fits both models.

Regenerate (from the repository root; Debian's python3-torch/-torchvision/-onnx load only in
Debian's interpreter, not in the pyenv `python3` first on PATH):

    apt-get install -y python3-torch python3-torchvision python3-onnx
    /usr/bin/python3 tools/onnx/export_torch_head.py [output_dir]

output_dir defaults to tests/Ohem.Onnx.Tests/Fixtures/torch_head. The run is deterministic
(fixed seeds, one thread, no constant folding): the same torch/torchvision versions write the
same bytes. It writes:

  head.onnx                 torch.onnx.export, opset 17; inputs features [N, C, H, W] and
                            rois [R, 5]; outputs cls_score [R, K+1] and bbox_pred [R, 4(K+1)]
  weights.bin               the parameters as float32 little-endian, concatenated in the order
                            RoiHeadExporter.Weights gives (manifest "weights": name, shape, offset
                            in floats)
  features.bin, rois.bin    the fixed inputs, float32 little-endian, row-major
  expected_cls_score.bin,   torch's eager outputs on those inputs, float32 little-endian
  expected_bbox_pred.bin
  manifest.json             spec, shapes, file names, versions

Before writing anything it checks (and fails without writing if any check fails):
  - onnx.checker accepts the model;
  - the initializer names are exactly the parameter names, with the same shapes and values
    (torch 1.13 keeps them for this module with or without constant folding: nn.Linear exports
    as Gemm transB = 1, so no transposed copy of a weight is folded in);
  - the nodes are MaxRoiPool -> Flatten -> (Gemm -> Relu) per hidden layer -> Gemm, Gemm, every
    Gemm with transB = 1, and MaxRoiPool has the spec's pooled_shape and spatial_scale;
  - torchvision's roi_pool on the fixture inputs equals an independent NumPy transcription of
    ONNX MaxRoiPool (Caffe RoI pooling, round half away from zero; see ANCHORS.md, "RoI pooling"), so
    the eager outputs are what an ONNX runtime should compute. The RoIs include .5 ties
    (which half-to-even rounding would pool differently), boxes partly and wholly outside the
    map, zero-size boxes and batch index 1.
"""
import hashlib
import io
import json
import math
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torchvision
from torch import nn
from torchvision.ops import roi_pool

CHANNELS = 4
POOLED = (3, 2)  # (height, width): not square, so a swapped axis shows
SPATIAL_SCALE = 0.25
HIDDEN = (16, 12)
NUM_CLASSES = 3  # K object classes; the outputs have K + 1 columns (0 is background)
FEATURES_SHAPE = (2, CHANNELS, 10, 12)  # image 40 x 48 pixels at scale 1/4
SEED = 20160412
OPSET = 17

DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..",
    "tests", "Ohem.Onnx.Tests", "Fixtures", "torch_head")


class RoiHead(nn.Module):
    """Fast R-CNN RoI head: RoI max pooling, fc6/fc7 with ReLU, class scores and box deltas."""

    def __init__(self, channels, pooled, spatial_scale, hidden, num_classes):
        super().__init__()
        self.pooled = pooled
        self.spatial_scale = spatial_scale
        fan_in = channels * pooled[0] * pooled[1]
        # Attribute names are the parameter names are the ONNX initializer names: fc6, fc7, ...
        self.hidden_names = []
        for i, size in enumerate(hidden):
            name = "fc%d" % (6 + i)
            setattr(self, name, nn.Linear(fan_in, size))
            self.hidden_names.append(name)
            fan_in = size
        self.cls_score = nn.Linear(fan_in, num_classes + 1)
        self.bbox_pred = nn.Linear(fan_in, 4 * (num_classes + 1))

    def forward(self, features, rois):
        x = roi_pool(features, rois, self.pooled, self.spatial_scale)
        x = x.flatten(1)
        for name in self.hidden_names:
            x = torch.relu(getattr(self, name)(x))
        return self.cls_score(x), self.bbox_pred(x)


def weight_order(hidden):
    """The order of Ohem.Onnx.Export.RoiHeadExporter.Weights(spec)."""
    names = []
    for i in range(len(hidden)):
        names += ["fc%d.weight" % (6 + i), "fc%d.bias" % (6 + i)]
    return names + ["cls_score.weight", "cls_score.bias", "bbox_pred.weight", "bbox_pred.bias"]


def fixture_rois():
    """(batch index, x1, y1, x2, y2) in image pixels; the image is 48 wide and 40 high."""
    return [
        [0, 0.0, 0.0, 47.0, 39.0],      # the whole image
        [0, 4.0, 4.0, 20.0, 16.0],      # interior
        [1, 4.0, 4.0, 20.0, 16.0],      # same box, batch index 1
        [1, 10.5, 6.25, 33.75, 30.0],   # fractional coordinates
        [0, 2.0, 6.0, 10.0, 14.0],      # x * 0.25 = 0.5, 1.5, 2.5, 3.5: round half away from zero
        [1, 6.0, 2.0, 14.0, 10.0],      # the same ties on the other axis
        [0, -8.0, -6.0, 12.0, 10.0],    # partly outside, top left
        [1, 36.0, 30.0, 60.0, 52.0],    # partly outside, bottom right
        [0, -2.0, -2.0, 2.0, 2.0],      # round(-0.5) = -1: straddles the corner
        [1, 60.0, 50.0, 80.0, 70.0],    # entirely outside: every bin empty, pooled 0
        [0, -20.0, -20.0, -10.0, -12.0],  # entirely outside, negative side
        [0, 12.0, 12.0, 12.0, 12.0],    # zero size: a single feature cell
        [1, 20.0, 8.0, 20.0, 28.0],     # zero width
        [0, 8.0, 24.0, 36.0, 24.0],     # zero height
        [1, 0.0, 0.0, 3.0, 3.0],        # smaller than one feature cell
        [0, 30.0, 2.0, 46.0, 6.0],      # wide and flat: fewer rows than pooled bins
        [1, 44.0, 0.0, 47.0, 39.0],     # tall and thin at the right edge
        [0, 16.0, 16.0, 28.0, 36.0],
        [1, 1.0, 13.0, 27.0, 21.0],
        [0, 23.9, 18.1, 24.1, 21.9],    # just off the .5 ties
    ]


def max_roi_pool_reference(features, rois, pooled, scale):
    """ONNX MaxRoiPool as ONNX Runtime computes it (Caffe RoI pooling), one loop per bin."""
    n, c, h, w = features.shape
    ph_n, pw_n = pooled
    out = np.zeros((rois.shape[0], c, ph_n, pw_n), dtype=np.float32)
    for r, roi in enumerate(rois):
        b = int(roi[0])
        # std::round: half away from zero (NumPy's round is half to even). The products are
        # float32 products, as in the C++ kernels.
        def rnd(v):
            v = float(np.float32(v) * np.float32(scale))
            return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)
        x1, y1, x2, y2 = rnd(roi[1]), rnd(roi[2]), rnd(roi[3]), rnd(roi[4])
        roi_w = max(x2 - x1 + 1, 1)
        roi_h = max(y2 - y1 + 1, 1)
        bin_h = np.float32(roi_h) / np.float32(ph_n)
        bin_w = np.float32(roi_w) / np.float32(pw_n)
        for ph in range(ph_n):
            hs = min(max(int(math.floor(np.float32(ph) * bin_h)) + y1, 0), h)
            he = min(max(int(math.ceil(np.float32(ph + 1) * bin_h)) + y1, 0), h)
            for pw in range(pw_n):
                ws = min(max(int(math.floor(np.float32(pw) * bin_w)) + x1, 0), w)
                we = min(max(int(math.ceil(np.float32(pw + 1) * bin_w)) + x1, 0), w)
                if he <= hs or we <= ws:
                    continue
                out[r, :, ph, pw] = features[b, :, hs:he, ws:we].reshape(c, -1).max(axis=1)
    return out


def floats_le(tensor):
    return np.ascontiguousarray(tensor.detach().numpy(), dtype="<f4").tobytes()


def check_onnx(model_bytes, head, params):
    model = onnx.load_model_from_string(model_bytes)
    onnx.checker.check_model(model)
    graph = model.graph

    init_names = [t.name for t in graph.initializer]
    if set(init_names) != set(params):
        raise SystemExit("initializer names %s != parameter names %s" % (init_names, list(params)))
    for t in graph.initializer:
        if list(t.dims) != list(params[t.name].shape):
            raise SystemExit("initializer %s has dims %s; parameter shape %s"
                             % (t.name, list(t.dims), list(params[t.name].shape)))
        values = numpy_helper.to_array(t)
        if not np.array_equal(values, params[t.name].detach().numpy()):
            raise SystemExit("initializer %s values differ from the parameter" % t.name)

    if [i.name for i in graph.input] != ["features", "rois"]:
        raise SystemExit("graph inputs %s" % [i.name for i in graph.input])
    if [o.name for o in graph.output] != ["cls_score", "bbox_pred"]:
        raise SystemExit("graph outputs %s" % [o.name for o in graph.output])

    ops = [n.op_type for n in graph.node]
    expected = ["MaxRoiPool", "Flatten"] + ["Gemm", "Relu"] * len(HIDDEN) + ["Gemm", "Gemm"]
    if ops != expected:
        raise SystemExit("exported nodes %s; expected %s" % (ops, expected))
    pool = graph.node[0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in pool.attribute}
    if list(attrs.get("pooled_shape", [])) != list(POOLED) or \
            not math.isclose(attrs.get("spatial_scale", -1.0), SPATIAL_SCALE):
        raise SystemExit("MaxRoiPool attributes %s" % attrs)
    for node in graph.node:
        if node.op_type == "Gemm":
            a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
            if a.get("transB", 0) != 1 or a.get("transA", 0) != 0:
                raise SystemExit("Gemm %s attributes %s" % (node.name, a))
    return model


def main():
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)

    head = RoiHead(CHANNELS, POOLED, SPATIAL_SCALE, HIDDEN, NUM_CLASSES).eval()
    params = dict(head.named_parameters())
    order = weight_order(HIDDEN)
    if list(params) != order:
        raise SystemExit("parameter order %s; expected %s" % (list(params), order))

    features = torch.randn(FEATURES_SHAPE, dtype=torch.float32)
    rois = torch.tensor(fixture_rois(), dtype=torch.float32)

    # The eager pooling must be ONNX MaxRoiPool, or the eager outputs are not what ORT computes.
    pooled = roi_pool(features, rois, POOLED, SPATIAL_SCALE).numpy()
    reference = max_roi_pool_reference(features.numpy(), rois.numpy(), POOLED, SPATIAL_SCALE)
    if not np.array_equal(pooled, reference):
        bad = np.argwhere(pooled != reference)[0]
        raise SystemExit("torchvision roi_pool differs from MaxRoiPool reference at %s" % bad)
    empty_rois = int((np.abs(reference).reshape(len(rois), -1).max(axis=1) == 0).sum())

    with torch.no_grad():
        cls_score, bbox_pred = head(features, rois)

    # torchvision's roi_pool asserts on the rois' shape; under the tracer that assert is a
    # constant (the shape is fixed by the graph input anyway), which is what we want.
    warnings.filterwarnings("ignore", message="Converting a tensor to a Python boolean",
                            category=torch.jit.TracerWarning)
    buffer = io.BytesIO()
    torch.onnx.export(
        head, (features, rois), buffer,
        export_params=True,
        opset_version=OPSET,
        do_constant_folding=False,
        keep_initializers_as_inputs=False,
        input_names=["features", "rois"],
        output_names=["cls_score", "bbox_pred"],
        dynamic_axes={
            "features": {0: "N", 2: "H", 3: "W"},
            "rois": {0: "R"},
            "cls_score": {0: "R"},
            "bbox_pred": {0: "R"},
        })
    model_bytes = buffer.getvalue()
    model = check_onnx(model_bytes, head, params)

    os.makedirs(out_dir, exist_ok=True)
    files = {
        "model": "head.onnx",
        "weights": "weights.bin",
        "features": "features.bin",
        "rois": "rois.bin",
        "expected_cls_score": "expected_cls_score.bin",
        "expected_bbox_pred": "expected_bbox_pred.bin",
    }
    blobs = {
        "model": model_bytes,
        "weights": b"".join(floats_le(params[name]) for name in order),
        "features": floats_le(features),
        "rois": floats_le(rois),
        "expected_cls_score": floats_le(cls_score),
        "expected_bbox_pred": floats_le(bbox_pred),
    }
    weights = []
    offset = 0
    for name in order:
        shape = list(params[name].shape)
        weights.append({"name": name, "shape": shape, "offset": offset})
        offset += int(np.prod(shape))

    manifest = {
        "description": "Fast R-CNN RoI head exported by tools/onnx/export_torch_head.py; "
                       "all .bin files are float32 little-endian, row-major.",
        "spec": {
            "channels": CHANNELS,
            "pooled_height": POOLED[0],
            "pooled_width": POOLED[1],
            "spatial_scale": SPATIAL_SCALE,
            "hidden_sizes": list(HIDDEN),
            "num_classes": NUM_CLASSES,
        },
        "files": files,
        "sha256": {key: hashlib.sha256(blob).hexdigest() for key, blob in blobs.items()},
        "weights": weights,
        "features_shape": list(FEATURES_SHAPE),
        "rois_shape": list(rois.shape),
        "cls_score_shape": list(cls_score.shape),
        "bbox_pred_shape": list(bbox_pred.shape),
        "rois_with_all_bins_empty": empty_rois,
        "onnx_nodes": [{"name": n.name, "op_type": n.op_type, "inputs": list(n.input),
                        "outputs": list(n.output)} for n in model.graph.node],
        "opset": OPSET,
        "seed": SEED,
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "onnx": onnx.__version__,
            "numpy": np.__version__,
        },
    }
    for key, name in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(blobs[key])
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    total = sum(len(b) for b in blobs.values())
    print("wrote %s: %d bytes in %d files + manifest.json; nodes %s"
          % (out_dir, total, len(files), [n.op_type for n in model.graph.node]))


if __name__ == "__main__":
    main()
