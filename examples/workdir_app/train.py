"""A stand-in training script: reads its config and writes a result next to it."""

import json
import os
import pathlib

config = json.loads(pathlib.Path("config.json").read_text())
rank = int(os.environ.get("SKYPILOT_NODE_RANK", "0"))
steps = config["steps"]
loss = 1.0
for _ in range(steps):
    loss *= config["decay"]
print(f"rank {rank}: trained {steps} steps, loss {loss:.4f}")
