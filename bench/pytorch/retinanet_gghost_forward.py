#!/usr/bin/env python3
"""PyTorch reference for `npm run bench:coco-size`: the mission detector's forward pass.

The same model as configs/retinanet_gghost_regnetx032_fpn_1x_coco.json builds:
G-Ghost RegNetX-3.2GF (the layers of retinanet_gghost_step.py at 3.2GF's
depths and widths), FPN 256 on C3-C5 with P6/P7 from C5 (ReLU before P7),
and a RetinaNet head of 4 plain 3×3 convs + ReLU per branch, 9 anchors, 80
classes. The script checks the parameter count, 21,066,788. Batch 1, eval
mode, no gradients, at the config's padded size 896×1408 (H×W). Optional:
it needs PyTorch (Debian: `apt-get install python3-torch`) and is no part of
the tests.

    python3 bench/pytorch/retinanet_gghost_forward.py --threads 2 --iters 2 --out /tmp/pt.json
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from retinanet_gghost_step import GGhostRegNet  # noqa: E402

PARAMS = 21_066_788


class FPN(nn.Module):
    """mmdetection FPN, add_extra_convs='on_input', relu_before_extra_convs: P6 from C5, P7 from relu(P6)."""

    def __init__(self, ins=(192, 432, 1008), out=256):
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(c, out, 1) for c in ins])
        self.fpn = nn.ModuleList([nn.Conv2d(out, out, 3, padding=1) for _ in ins])
        self.p6 = nn.Conv2d(ins[-1], out, 3, 2, 1)
        self.p7 = nn.Conv2d(out, out, 3, 2, 1)

    def forward(self, feats):
        lat = [l(f) for l, f in zip(self.lateral, feats)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[-2:], mode="nearest")
        outs = [c(l) for c, l in zip(self.fpn, lat)]
        p6 = self.p6(feats[-1])
        return outs + [p6, self.p7(F.relu(p6))]


class RetinaHead(nn.Module):
    def __init__(self, cin=256, feat=256, classes=80, anchors=9, convs=4):
        super().__init__()
        block = lambda i: nn.Sequential(nn.Conv2d(cin if i == 0 else feat, feat, 3, padding=1), nn.ReLU())
        self.cls_convs = nn.Sequential(*[block(i) for i in range(convs)])
        self.reg_convs = nn.Sequential(*[block(i) for i in range(convs)])
        self.retina_cls = nn.Conv2d(feat, anchors * classes, 3, padding=1)
        self.retina_reg = nn.Conv2d(feat, anchors * 4, 3, padding=1)

    def forward(self, levels):
        return [self.retina_cls(self.cls_convs(x)) for x in levels], [self.retina_reg(self.reg_convs(x)) for x in levels]


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone, self.neck, self.head = GGhostRegNet((2, 6, 15, 2), (96, 192, 432, 1008), 48), FPN(), RetinaHead()

    def forward(self, x):
        return self.head(self.neck(self.backbone(x)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--height", type=int, default=896)
    ap.add_argument("--width", type=int, default=1408)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Detector().eval()
    params = sum(p.numel() for p in model.parameters())
    assert params == PARAMS, f"parameter count {params}, expected {PARAMS}"
    x = torch.randn(1, 3, a.height, a.width)
    with torch.no_grad():
        model(x)  # warm-up
        t = time.perf_counter()
        for _ in range(a.iters):
            model(x)
        ms = (time.perf_counter() - t) / a.iters * 1000
    with open(a.out, "w") as f:
        json.dump({"torch": torch.__version__, "threads": a.threads, "params": params, "inputSize": [a.height, a.width], "msPerImage": ms}, f)


if __name__ == "__main__":
    main()
