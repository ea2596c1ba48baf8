#!/usr/bin/python3
"""PASCAL VOC detection AP as py-faster-rcnn computes it (lib/datasets/voc_eval.py: voc_eval and
voc_ap), numpy only: the independent reference for Ohem.Trainer's VocEvaluator.

Two adaptations to the project's box contract, nothing else changed:
- areas and intersections without the VOC +1 (boxes are x1, y1, x2, y2 with area (x2-x1)(y2-y1));
- a class without ground truth gets AP NaN (voc_eval divides by npos = 0), and a zero union gives
  IoU 0 instead of 0/0.
Detections are sorted with a stable sort (voc_eval's np.argsort is unstable on equal scores).

Usage: /usr/bin/python3 voc_reference.py INPUT.json OUTPUT.txt
INPUT: a list of problems, each
       {"num_classes": K, "iou": 0.5, "use_07_metric": false,
        "images": [{"gt_boxes": [[x1, y1, x2, y2], ...], "gt_classes": [1..K, ...],
                    "detections": [[class, score, x1, y1, x2, y2], ...]}, ...]}
OUTPUT: per problem, K lines with each class's AP (repr, "NaN" when undefined), then one line with
the mean AP over the classes that have ground truth.
"""
import json
import sys

import numpy as np


def voc_ap(rec, prec, use_07_metric=False):
    """py-faster-rcnn's voc_ap, unchanged."""
    if use_07_metric:
        # 11 point metric
        ap = 0.
        for t in np.arange(0., 1.1, 0.1):
            if np.sum(rec >= t) == 0:
                p = 0
            else:
                p = np.max(prec[rec >= t])
            ap = ap + p / 11.
    else:
        # correct AP calculation
        # first append sentinel values at the end
        mrec = np.concatenate(([0.], rec, [1.]))
        mpre = np.concatenate(([0.], prec, [0.]))

        # compute the precision envelope
        for i in range(mpre.size - 1, 0, -1):
            mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])

        # to calculate area under PR curve, look for points
        # where X axis (recall) changes value
        i = np.where(mrec[1:] != mrec[:-1])[0]

        # and sum (\Delta recall) * prec
        ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
    return ap


def voc_eval(images, cls, ovthresh=0.5, use_07_metric=False):
    """voc_eval for one class over in-memory annotations instead of VOC XML files."""
    class_recs = {}
    npos = 0
    for image_id, image in enumerate(images):
        R = [box for box, c in zip(image["gt_boxes"], image["gt_classes"]) if c == cls]
        bbox = np.array(R, dtype=np.float64).reshape(-1, 4)
        difficult = np.zeros(len(R), dtype=bool)
        det = [False] * len(R)
        npos = npos + sum(~difficult)
        class_recs[image_id] = {'bbox': bbox, 'difficult': difficult, 'det': det}

    if npos == 0:
        return float('nan')

    image_ids = []
    confidence = []
    BB = []
    for image_id, image in enumerate(images):
        for d in image["detections"]:
            if int(d[0]) == cls:
                image_ids.append(image_id)
                confidence.append(float(d[1]))
                BB.append([float(v) for v in d[2:6]])
    confidence = np.array(confidence, dtype=np.float64)
    BB = np.array(BB, dtype=np.float64).reshape(-1, 4)

    # sort by confidence
    sorted_ind = np.argsort(-confidence, kind='stable')
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]

    # go down dets and mark TPs and FPs
    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R['bbox'].astype(float)

        if BBGT.size > 0:
            # compute overlaps
            # intersection
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin, 0.)
            ih = np.maximum(iymax - iymin, 0.)
            inters = iw * ih

            # union
            uni = ((bb[2] - bb[0]) * (bb[3] - bb[1]) +
                   (BBGT[:, 2] - BBGT[:, 0]) *
                   (BBGT[:, 3] - BBGT[:, 1]) - inters)

            overlaps = np.where(uni > 0, inters / np.where(uni > 0, uni, 1.0), 0.0)
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)

        if ovmax > ovthresh:
            if not R['difficult'][jmax]:
                if not R['det'][jmax]:
                    tp[d] = 1.
                    R['det'][jmax] = 1
                else:
                    fp[d] = 1.
        else:
            fp[d] = 1.

    # compute precision recall
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    rec = tp / float(npos)
    # avoid divide by zero in case the first detection matches a difficult
    # ground truth
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    ap = voc_ap(rec, prec, use_07_metric)
    return float(ap)


def main():
    with open(sys.argv[1]) as f:
        problems = json.load(f)
    lines = []
    for problem in problems:
        aps = [voc_eval(problem["images"], k, problem["iou"], problem["use_07_metric"])
               for k in range(1, problem["num_classes"] + 1)]
        defined = [a for a in aps if not np.isnan(a)]
        mean = float(np.mean(defined)) if defined else float('nan')
        lines += ["NaN" if np.isnan(a) else repr(a) for a in aps + [mean]]
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
