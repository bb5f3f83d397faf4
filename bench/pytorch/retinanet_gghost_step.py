#!/usr/bin/env python3
"""PyTorch reference for `npm run bench:train`: the main-job detector's training step.

The same model as configs/retinanet_gghost_cpu_shapes.json builds (G-Ghost
RegNetX-200MF, FPN 64 on C3-C5, RetinaNet head with 2 GN convs, 9 anchors,
3 classes; the script checks the parameter count, 1,788,599), the same step
(forward, max-IoU assignment, focal + L1 loss, backward, gradient clip 35,
AdamW) on the same random batch shape as bench/train.ts: batch 8 at each
W×H size. Optional: it needs PyTorch (Debian: `apt-get install python3-torch`)
and is no part of the tests.

    python3 bench/pytorch/retinanet_gghost_step.py --threads 2
writes bench/results/pytorch_train.json, which `npm run bench:train` reads to
report the throughput ratio when both ran on the same machine.
"""
import argparse
import json
import math
import os
import platform
import statistics
import time
from datetime import datetime, timezone

import torch
import torch.nn as nn
import torch.nn.functional as F

PARAMS = 1_788_599


def conv_bn(cin, cout, k=1, stride=1, groups=1):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


class Bottleneck(nn.Module):
    """RegNetX bottleneck (expansion 1) as backbones/gghostnet.ts."""

    def __init__(self, inplanes, planes, stride, group_width, downsample):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(inplanes, planes)
        self.conv2, self.bn2 = conv_bn(planes, planes, 3, stride, planes // min(planes, group_width))
        self.conv3, self.bn3 = conv_bn(planes, planes)
        self.downsample = nn.Sequential(*conv_bn(inplanes, planes, 1, stride)) if downsample else None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class GGhostStage(nn.Module):
    def __init__(self, inplanes, planes, group_width, blocks, stride):
        super().__init__()
        self.base = Bottleneck(inplanes, planes, stride, group_width, stride != 1 or inplanes != planes)
        self.end = Bottleneck(planes, planes, 1, group_width, False)
        gw = int(group_width * 0.75)
        self.raw = int(planes * 0.5 / gw) * gw
        cheap = planes - self.raw
        self.merge = nn.Sequential(nn.AdaptiveAvgPool2d(1), *conv_bn(planes + self.raw * (blocks - 2), cheap), nn.ReLU(), *conv_bn(cheap, cheap))
        self.cheap = nn.Sequential(*conv_bn(cheap, cheap))
        self.layers = nn.Sequential(*[Bottleneck(self.raw, self.raw, 1, gw, False) for _ in range(blocks - 2)])

    def forward(self, x):
        x0 = self.base(x)
        feats = [x0]
        e = x0[:, : self.raw]
        for layer in self.layers:
            e = layer(e)
            feats.append(e)
        m = self.merge(torch.cat(feats, 1))
        c = F.relu(self.cheap(x0[:, self.raw:]) + m)
        return self.end(torch.cat([e, c], 1))


class GGhostRegNet(nn.Module):
    """backbones/gghostnet.ts: stem 32, stages of RegNetX bottlenecks, G-Ghost where the stage is 2, or deeper than 2 blocks.

    The defaults are RegNetX-200MF's; retinanet_gghost_forward.py builds 3.2GF's."""

    def __init__(self, blocks=(1, 1, 4, 7), widths=(24, 56, 152, 368), gw=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        stages, inplanes = [], 32
        for i, (n, planes) in enumerate(zip(blocks, widths)):
            ghost = i == 2 or (i != 0 and n > 2)
            if ghost:
                stages.append(GGhostStage(inplanes, planes, gw, n, 2))
            else:
                stages.append(nn.Sequential(*[Bottleneck(inplanes if j == 0 else planes, planes, 2 if j == 0 else 1, gw, j == 0) for j in range(n)]))
            inplanes = planes
        self.layers = nn.ModuleList(stages)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i >= 1:
                outs.append(x)
        return outs


class FPN(nn.Module):
    def __init__(self, ins, out):
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(c, out, 1) for c in ins])
        self.fpn = nn.ModuleList([nn.Conv2d(out, out, 3, padding=1) for _ in ins])

    def forward(self, feats):
        lat = [l(f) for l, f in zip(self.lateral, feats)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[-2:], mode="nearest")
        return [c(l) for c, l in zip(self.fpn, lat)]


class RetinaHead(nn.Module):
    def __init__(self, cin=64, feat=64, classes=3, anchors=9, convs=2, groups=32):
        super().__init__()
        block = lambda i: nn.Sequential(nn.Conv2d(cin if i == 0 else feat, feat, 3, padding=1, bias=False), nn.GroupNorm(groups, feat), nn.ReLU())
        self.cls_convs = nn.Sequential(*[block(i) for i in range(convs)])
        self.reg_convs = nn.Sequential(*[block(i) for i in range(convs)])
        self.retina_cls = nn.Conv2d(feat, anchors * classes, 3, padding=1)
        self.retina_reg = nn.Conv2d(feat, anchors * 4, 3, padding=1)
        nn.init.constant_(self.retina_cls.bias, -math.log(99))
        self.classes = classes

    def forward(self, levels):
        cls = [self.retina_cls(self.cls_convs(x)).permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.classes) for x in levels]
        reg = [self.retina_reg(self.reg_convs(x)).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 4) for x in levels]
        return torch.cat(cls, 1), torch.cat(reg, 1)


def anchors_for(h, w, strides=(8, 16, 32), octave_base=2, scales=3, ratios=(0.5, 1.0, 2.0)):
    out = []
    for s in strides:
        fh, fw = math.ceil(h / s), math.ceil(w / s)
        base = []
        for r in ratios:
            for k in range(scales):
                size = s * octave_base * 2 ** (k / scales)
                hr, wr = math.sqrt(r), 1 / math.sqrt(r)
                base.append([-size * wr / 2, -size * hr / 2, size * wr / 2, size * hr / 2])
        base = torch.tensor(base)
        ys, xs = torch.meshgrid(torch.arange(fh) * s, torch.arange(fw) * s, indexing="ij")
        shifts = torch.stack([xs, ys, xs, ys], -1).reshape(-1, 1, 4).float()
        out.append((shifts + base).reshape(-1, 4))
    return torch.cat(out)


def box_iou(a, b):
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None] - inter)


def encode(anchors, gts):
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + aw / 2, anchors[:, 1] + ah / 2
    gw, gh = gts[:, 2] - gts[:, 0], gts[:, 3] - gts[:, 1]
    gx, gy = gts[:, 0] + gw / 2, gts[:, 1] + gh / 2
    return torch.stack([(gx - ax) / aw, (gy - ay) / ah, torch.log(gw / aw), torch.log(gh / ah)], -1)


def loss_fn(cls, reg, anchors, boxes, labels):
    """Max-IoU assignment (pos 0.5, neg 0.4), sigmoid focal loss (0.25, 2), L1 on deltas; / num positives."""
    n = cls.shape[0]
    cls_t = torch.zeros_like(cls)
    weights = torch.ones(cls.shape[:2])
    reg_t = torch.zeros_like(reg)
    pos = torch.zeros(cls.shape[:2], dtype=torch.bool)
    with torch.no_grad():
        for i in range(n):
            iou = box_iou(anchors, boxes[i])
            best, idx = iou.max(1)
            p = best >= 0.5
            weights[i][(best >= 0.4) & ~p] = 0
            pos[i] = p
            cls_t[i, p, labels[i][idx[p]]] = 1
            reg_t[i, p] = encode(anchors[p], boxes[i][idx[p]])
    num_pos = max(int(pos.sum()), 1)
    focal = torchvision_free_focal(cls, cls_t) * weights[..., None]
    return focal.sum() / num_pos + (reg[pos] - reg_t[pos]).abs().sum() / num_pos


def torchvision_free_focal(logits, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    pt = p * targets + (1 - p) * (1 - targets)
    return ce * (1 - pt) ** gamma * (alpha * targets + (1 - alpha) * (1 - targets))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--sizes", default="128x128,320x192", help="W×H pairs, as BENCH_SIZES")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results", "pytorch_train.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = GGhostRegNet()
            self.neck = FPN([56, 152, 368], 64)
            self.head = RetinaHead()

        def forward(self, x):
            return self.head(self.neck(self.backbone(x)))

    model = Detector().train()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    results = []
    for size in a.sizes.split(","):
        w, h = map(int, size.split("x"))
        x = torch.randn(8, 3, h, w)
        boxes = [torch.tensor([[10.0, 12, 50, 60], [60, 64, 110, 120]]) for _ in range(8)]
        labels = [torch.tensor([0, 2]) for _ in range(8)]
        anchors = anchors_for(h, w)

        def step():
            opt.zero_grad()
            cls, reg = model(x)
            loss = loss_fn(cls, reg, anchors, boxes, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 35)
            opt.step()

        for _ in range(2):
            step()
        times = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000)
        ms = statistics.median(times)
        row = {"inputSize": size, "batchSize": 8, "threads": a.threads, "stepMs": round(ms, 1), "imagesPerSecond": round(8000 / ms, 2)}
        print(json.dumps(row))
        results.append(row)
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    body = {
        "date": datetime.now(timezone.utc).isoformat(), "command": f"python3 bench/pytorch/retinanet_gghost_step.py --threads {a.threads}",
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()},
        "torch": torch.__version__, "parameters": params, "parametersMatch": params == PARAMS,
        "what": "same detector and step as bench/train.ts (forward, assignment, focal + L1, backward, clip 35, AdamW), batch 8, median of runs after 2 warm-up steps",
        "runs": a.runs, "results": results,
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(body, f, indent=2)
        f.write("\n")
    os.replace(tmp, a.out)
    print(f"parameters {params:,} ({'matches' if params == PARAMS else 'DIFFERS from'} ghostdet's {PARAMS:,}); wrote {a.out}")


if __name__ == "__main__":
    main()
