#!/usr/bin/python3
"""Reference computations with Debian's torch/torchvision, for parity tests and benchmarks.

Run with /usr/bin/python3 (Debian's python3-torch and python3-torchvision load only there).
Cases travel as one little-endian binary file so a single process (one torch import) serves many:

  case   := int32 kind | int32 n | float64 iou_threshold | int32 repeats
            | float32[n*4] boxes | float32[n] scores | int32[n] classes
  kind   := 0 nms (torchvision.ops.nms) | 1 per-class nms (_batched_nms_vanilla)
  result := int32 k | int32[k] kept | float64 median_seconds

Per-class results are re-sorted by (score desc, index asc): torchvision's final sort in
batched NMS is not stable, so its order among equal scores is arbitrary; the kept set is not.

  loss   := bench-loss: int32 r | int32 k1 | int32 repeats | float32[r*k1] logits
            | float32[r*4*k1] deltas | int32[r] labels | float32[r*4] targets
  result := float32[r] loss | float64 median_seconds

  head   := int32 n c h w | int32 pooled_h pooled_w | float32 scale | int32 hidden_count
            | int32[hidden_count] hidden | int32 classes | int32 r | int32 repeats
            | weights in the exporter's order (fc6.weight, fc6.bias, ..., bbox_pred.bias)
            | float32[n*c*h*w] features | float32[r*5] rois | int32[r] labels | float32[r*4] targets
  result := float32[r] loss | float64 median_seconds | float64 one_roi_median_seconds
  The Fast R-CNN head in PyTorch eager (torchvision.ops.roi_pool -> flatten -> Linear/ReLU ->
  cls_score, bbox_pred) under inference_mode: the reference the ONNX Runtime scorer is timed against.

  roipool := int32 n c h w | int32 pooled_h pooled_w | float32 scale | int32 r
            | float32[n*c*h*w] features | float32[r*5] rois | float32[r*c*pooled_h*pooled_w] grad_output
  result  := float32[r*c*pooled_h*pooled_w] pooled | float32[n*c*h*w] grad_features
  torchvision.ops.roi_pool forward, and its backward of sum(pooled * grad_output).
"""
import struct
import sys
import time

import torch
import torchvision
from torchvision.ops import boxes as box_ops


def median_time(fn, repeats):
    times = []
    result = None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return result, times[len(times) // 2]


def stable_by_score(keep, scores):
    keep = torch.sort(keep).values
    order = torch.sort(scores[keep], descending=True, stable=True).indices
    return keep[order]


def run_nms(data, out):
    offset = 0
    while offset < len(data):
        kind, n, threshold, repeats = struct.unpack_from("<iidi", data, offset)
        offset += 20
        boxes = torch.frombuffer(bytearray(data[offset:offset + 16 * n]), dtype=torch.float32).reshape(n, 4)
        offset += 16 * n
        scores = torch.frombuffer(bytearray(data[offset:offset + 4 * n]), dtype=torch.float32)
        offset += 4 * n
        classes = torch.frombuffer(bytearray(data[offset:offset + 4 * n]), dtype=torch.int32).long()
        offset += 4 * n
        if kind == 0:
            keep, seconds = median_time(lambda: torchvision.ops.nms(boxes, scores, threshold), repeats)
        else:
            keep, seconds = median_time(
                lambda: box_ops._batched_nms_vanilla(boxes, scores, classes, threshold), repeats)
            keep = stable_by_score(keep, scores)
        keep = keep.to(torch.int32)
        out.write(struct.pack("<i", keep.numel()))
        out.write(keep.numpy().tobytes())
        out.write(struct.pack("<d", seconds))


def run_loss(data, out):
    r, k1, repeats = struct.unpack_from("<iii", data, 0)
    offset = 12

    def take(count, dtype, size=4):
        nonlocal offset
        t = torch.frombuffer(bytearray(data[offset:offset + size * count]), dtype=dtype)
        offset += size * count
        return t

    logits = take(r * k1, torch.float32).reshape(r, k1)
    deltas = take(r * 4 * k1, torch.float32).reshape(r, k1, 4)
    labels = take(r, torch.int32).long()
    targets = take(r * 4, torch.float32).reshape(r, 4)

    def loss():
        with torch.inference_mode():
            cls = torch.nn.functional.cross_entropy(logits, labels.clamp(min=0), reduction="none")
            picked = deltas[torch.arange(r), labels.clamp(min=0)]
            box = torch.nn.functional.smooth_l1_loss(picked, targets, beta=1.0, reduction="none").sum(1)
            total = cls + (labels >= 1).float() * box
            return torch.where(labels >= 0, total, torch.zeros_like(total))

    values, seconds = median_time(loss, repeats)
    out.write(values.numpy().astype("<f4").tobytes())
    out.write(struct.pack("<d", seconds))


def run_head(data, out):
    offset = 0

    def ints(count):
        nonlocal offset
        values = struct.unpack_from(f"<{count}i", data, offset)
        offset += 4 * count
        return values

    def floats(count, shape):
        nonlocal offset
        t = torch.frombuffer(bytearray(data[offset:offset + 4 * count]), dtype=torch.float32).reshape(shape)
        offset += 4 * count
        return t

    n, c, h, w, ph, pw = ints(6)
    (scale,) = struct.unpack_from("<f", data, offset)
    offset += 4
    (hidden_count,) = ints(1)
    hidden = ints(hidden_count)
    classes, r, repeats = ints(3)
    layers = []
    fan_in = c * ph * pw
    for size in hidden:
        layers.append((floats(size * fan_in, (size, fan_in)), floats(size, (size,))))
        fan_in = size
    cls_w, cls_b = floats((classes + 1) * fan_in, (classes + 1, fan_in)), floats(classes + 1, (classes + 1,))
    box_w, box_b = floats(4 * (classes + 1) * fan_in, (4 * (classes + 1), fan_in)), floats(4 * (classes + 1), (4 * (classes + 1),))
    features = floats(n * c * h * w, (n, c, h, w))
    rois = floats(r * 5, (r, 5))
    labels = torch.frombuffer(bytearray(data[offset:offset + 4 * r]), dtype=torch.int32).long()
    offset += 4 * r
    targets = floats(r * 4, (r, 4))

    def head(boxes):
        with torch.inference_mode():
            x = torchvision.ops.roi_pool(features, boxes, (ph, pw), scale).flatten(1)
            for weight, bias in layers:
                x = torch.relu(torch.nn.functional.linear(x, weight, bias))
            return (torch.nn.functional.linear(x, cls_w, cls_b), torch.nn.functional.linear(x, box_w, box_b))

    (cls, box), seconds = median_time(lambda: head(rois), repeats)
    _, one_roi = median_time(lambda: head(rois[:1]), max(repeats, 20))
    picked = box.reshape(r, classes + 1, 4)[torch.arange(r), labels.clamp(min=0)]
    loss = torch.nn.functional.cross_entropy(cls, labels.clamp(min=0), reduction="none")
    loss = loss + (labels >= 1).float() * torch.nn.functional.smooth_l1_loss(picked, targets, beta=1.0, reduction="none").sum(1)
    loss = torch.where(labels >= 0, loss, torch.zeros_like(loss))
    out.write(loss.numpy().astype("<f4").tobytes())
    out.write(struct.pack("<dd", seconds, one_roi))


def run_roi_pool(data, out):
    n, c, h, w, ph, pw = struct.unpack_from("<6i", data, 0)
    (scale,) = struct.unpack_from("<f", data, 24)
    (r,) = struct.unpack_from("<i", data, 28)
    sizes = [n * c * h * w, r * 5, r * c * ph * pw]
    offset, parts = 32, []
    for size in sizes:
        parts.append(torch.frombuffer(bytearray(data[offset:offset + 4 * size]), dtype=torch.float32))
        offset += 4 * size
    features = parts[0].reshape(n, c, h, w).requires_grad_(True)
    pooled = torchvision.ops.roi_pool(features, parts[1].reshape(r, 5), (ph, pw), scale)
    pooled.backward(parts[2].reshape(r, c, ph, pw))
    out.write(pooled.detach().numpy().astype("<f4").tobytes())
    out.write(features.grad.numpy().astype("<f4").tobytes())


def run_box_coder(data, out):
    """boxcoder := int32 n | float32[n*4] rois | float32[n*4] gt | float32[n*4] deltas
    result := float32[n*4] encoded | float32[n*4] decoded (torchvision BoxCoder, weights 10, 10, 5, 5)"""
    from torchvision.models.detection._utils import BoxCoder
    (n,) = struct.unpack_from("<i", data, 0)
    rois, gt, deltas = (torch.frombuffer(bytearray(data[4 + 16 * n * k:4 + 16 * n * (k + 1)]), dtype=torch.float32).reshape(n, 4)
                        for k in range(3))
    coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    encoded = coder.encode_single(gt, rois)
    decoded = coder.decode_single(deltas, rois)
    out.write(encoded.numpy().astype("<f4").tobytes())
    out.write(decoded.numpy().astype("<f4").tobytes())


def main():
    command, path_in, path_out = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    torch.set_num_threads(threads)
    with open(path_in, "rb") as f:
        data = f.read()
    with open(path_out, "wb") as out:
        if command == "nms":
            run_nms(data, out)
        elif command == "loss":
            run_loss(data, out)
        elif command == "head":
            run_head(data, out)
        elif command == "boxcoder":
            run_box_coder(data, out)
        elif command == "roipool":
            run_roi_pool(data, out)
        else:
            raise SystemExit(f"unknown command {command!r}; expected nms, loss, head, boxcoder or roipool")
    print(f"torch {torch.__version__} torchvision {torchvision.__version__} threads {torch.get_num_threads()}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
