"""The adapter folder a training run writes: checked free before training starts, then
written whole (peft's adapter weights plus cartsmith-adapter.json) to a temporary sibling
and renamed into place, so a reader never sees half an adapter.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from assistant.llm.loading import ADAPTER_MANIFEST
from retrieval.errors import ConfigError

from .train_config import TrainConfig


def prepare_output(config: TrainConfig) -> Path:
    output = Path(config.output_dir).expanduser()
    if output.exists() and not config.overwrite:
        raise ConfigError(
            f"train.output_dir: {output} already exists; choose another folder or set overwrite = true"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    return output


def save_adapter(model: Any, manifest: dict[str, Any], output: Path, *, overwrite: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    try:
        model.save_pretrained(tmp)
        (tmp / ADAPTER_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if output.exists():
            if not overwrite:
                raise ConfigError(f"train.output_dir: {output} appeared while training; not replacing it")
            old = output.with_name(f".{output.name}.old-{os.getpid()}")
            os.rename(output, old)
            os.rename(tmp, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
