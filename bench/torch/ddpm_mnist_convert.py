"""Turns a torch-checkpoint.pt of bench/torch/ddpm_mnist_train.py (the U-Net and its EMA copy) into a
checkpoint of `dl train ddpm-mnist` (the @dl checkpoint format: the U-Net as `model.model.*`, the EMA
as `model.ema.*`, the U-Net and schedule settings in the metadata), so our sampler can draw from
PyTorch-trained weights:

    /usr/bin/python3 bench/torch/ddpm_mnist_convert.py runs/ddpm-mnist-torch/torch-checkpoint.pt runs/ddpm-mnist-torch/checkpoint.safetensors
    cd apps/sample && node dist/cli.js sample ddpm-mnist --checkpoint ../../runs/ddpm-mnist-torch/checkpoint.safetensors --out ../../runs/ddpm-mnist-torch/ours

Parameter names are the same on both sides (unet_torch.py is @dl/unet's transcription); the
settings options are the training script's (--base, --mults, --res-blocks, --schedule,
--prediction, --p-uncond; defaults the task's) and must match the run that wrote the checkpoint: a
wrong U-Net size is refused when the checkpoint is loaded. No optimizer state is written, so the
result samples but does not resume.
"""
import argparse
import json
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import save_safetensors  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("src", help="torch-checkpoint.pt ({'model': state dict, 'ema': state dict})")
    p.add_argument("dst", help="checkpoint.safetensors to write")
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--mults", default="1,2,2")
    p.add_argument("--res-blocks", type=int, default=1)
    p.add_argument("--schedule", default="linear", choices=["linear", "cosine"])
    p.add_argument("--prediction", default="epsilon", choices=["epsilon", "v_prediction"])
    p.add_argument("--p-uncond", type=float, default=0.1)
    p.add_argument("--step", type=int, default=1200, help="the training step recorded in the metadata")
    a = p.parse_args()

    ck = torch.load(a.src, map_location="cpu")
    tensors = {}
    for part in ("model", "ema"):
        for k, v in ck[part].items():
            tensors[f"model.{part}.{k}"] = v.detach().float().contiguous()
    unet = dict(inChannels=1, baseChannels=a.base, channelMults=[float(m) if "." in m else int(m) for m in a.mults.split(",")],
                numResBlocks=a.res_blocks, timeEmbedding=True, numClasses=10)
    extra = dict(unet=unet, schedule=a.schedule, prediction=a.prediction, pUncond=a.p_uncond, convertedFrom=os.path.abspath(a.src))
    save_safetensors(a.dst, tensors, {"format": "dl-checkpoint/1", "step": str(a.step), "extra": json.dumps(extra)})
    print(f"wrote {a.dst}: {len(tensors)} tensors ({len(ck['model'])} of the U-Net, {len(ck['ema'])} of its EMA), step {a.step}")


if __name__ == "__main__":
    main()
