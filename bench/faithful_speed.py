#!/usr/bin/python3
"""Seconds per faithful epoch: bs3lnet against the same computation in PyTorch.

The PyTorch side (Debian's python3-torch, a measuring tool only) trains the
same network on the same shapes as the paper's protocol: batches of 100
19x19 patches with 37 blind spots each, masked L1, Adam. bs3lnet's epoch time
is (t(3 epochs) - t(1 epoch)) / 2 of `bs3lnet train --mode faithful`, so
start-up, reading and writing cancel out.

  /usr/bin/python3 bench/faithful_speed.py [--scene hydice-ii.mat] [--threads 1,2] [--repeats 2]
  python3 bench/faithful_speed.py --torch-only --device cuda --shape 189,100,100
      (PyTorch's side alone, e.g. on a GPU machine without GDAL: prints
      "pytorch_s_per_epoch X"; scripts/gpu-check.sh runs it)

The two sides run alternately --repeats times and the fastest of each counts:
on a shared virtual machine single timings drift by 30% or more.
"""
import argparse
import os
import tempfile
import time

from run_bench import HAD, ROOT, machine, timed


def torch_epoch_seconds(bands, rows, cols, threads, patch=19, batch=100, features=64, blocks=2, epochs=2,
                        device="cpu"):
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(1)

    def conv(i, o):
        return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(i, o, 3, bias=False))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(conv(features, features), nn.BatchNorm2d(features), nn.ReLU(),
                                      conv(features, features), nn.BatchNorm2d(features))

        def forward(self, x):
            return x + self.body(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(bands, features, 3), nn.ReLU())
            self.body = nn.Sequential(*[Block() for _ in range(blocks)], conv(features, features),
                                      nn.BatchNorm2d(features))
            self.tail = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(features, bands, 3))

        def forward(self, x):
            h = self.head(x)
            return self.tail(h + self.body(h))

    dev = torch.device(device)
    net = Net().to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.5, 0.999), weight_decay=1e-5)
    r = patch // 2
    cube = torch.nn.functional.pad(torch.rand(1, bands, rows, cols, device=dev), (r, r, r, r), mode="reflect")[0]
    ar = torch.arange(patch, device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    n = rows * cols
    spots = 37
    times = []
    for _ in range(epochs):
        sync()
        t0 = time.time()
        order = torch.randperm(n, device=dev)
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            ys, xs = idx // cols, idx % cols
            py = ys[:, None, None] + ar[None, :, None]
            px = xs[:, None, None] + ar[None, None, :]
            label = cube[:, py, px].permute(1, 0, 2, 3)  # [b, B, p, p]
            pos = torch.rand(len(idx), patch * patch, device=dev).argsort(1)[:, :spots]
            mask = torch.zeros(len(idx), patch * patch, device=dev).scatter_(1, pos, 1).view(len(idx), 1, patch, patch)
            shift = torch.randint(1, 25, mask.shape, device=dev)  # any neighbour in the 5x5 window but itself
            dy, dx = (shift // 5 - 2), (shift % 5 - 2)
            src_y = (ar.view(1, 1, patch, 1) + dy * mask.long()).clamp(0, patch - 1)
            src_x = (ar.view(1, 1, 1, patch) + dx * mask.long()).clamp(0, patch - 1)
            flat = (src_y * patch + src_x).view(len(idx), 1, -1).expand(-1, bands, -1)
            inp = label.reshape(len(idx), bands, -1).gather(2, flat).view_as(label)
            out = net(inp)
            loss = ((out - label).abs() * mask).sum() / out.numel()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sync()
        times.append(time.time() - t0)
    return min(times)


def bs3lnet_epoch_seconds(exe, scene, threads):
    with tempfile.TemporaryDirectory() as tmp:
        walls = []
        for epochs in (1, 3):
            _, wall, _, _ = timed([exe, "train", os.path.join(HAD, scene), os.path.join(tmp, "m.pt"), "--mode", "faithful",
                                   "--epochs", str(epochs), "--normalize", "none", "--threads", str(threads), "-q",
                                   "--overwrite"])
            walls.append(wall)
    return (walls[1] - walls[0]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--scene", default="hydice-ii.mat")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--torch-only", action="store_true", help="time PyTorch's side alone (no GDAL, no bs3lnet)")
    ap.add_argument("--device", default="cpu", help="PyTorch's device with --torch-only")
    ap.add_argument("--shape", default="189,100,100", help="BANDS,ROWS,COLS with --torch-only (random data)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed with --torch-only; the fastest counts")
    a = ap.parse_args()
    if a.torch_only:
        bands, rows, cols = (int(v) for v in a.shape.split(","))
        t = int(a.threads.split(",")[-1])
        print("pytorch_s_per_epoch %.3f" % torch_epoch_seconds(bands, rows, cols, t, epochs=a.epochs, device=a.device))
        return
    from osgeo import gdal
    gdal.UseExceptions()
    d = gdal.OpenEx(os.path.join(HAD, a.scene), open_options=["VARIABLE=data"])
    shape = (d.RasterCount, d.RasterYSize, d.RasterXSize)
    print("Machine: %s" % machine())
    print("| scene | threads | bs3lnet s/epoch | PyTorch s/epoch | ratio |\n|---|---|---|---|---|")
    for t in [int(x) for x in a.threads.split(",")]:
        ours, ref = [], []
        for _ in range(a.repeats):
            ours.append(bs3lnet_epoch_seconds(a.exe, a.scene, t))
            ref.append(torch_epoch_seconds(*shape, threads=t))
        ours, ref = min(ours), min(ref)
        print("| `%s` %dx%dx%d | %d | %.1f | %.1f | %.2f |" % (a.scene, shape[1], shape[2], shape[0], t, ours, ref, ours / ref),
              flush=True)


if __name__ == "__main__":
    main()
