"""A real OpenAI-compatible model server for the remote-model tests and bench: llama.cpp.

Found in this order: the `llama-server` binary of llama.cpp ($LLAMA_SERVER, else on PATH;
it takes `response_format` with a "json_schema" and a GGUF LoRA with --lora), else
llama-cpp-python's server (`pip install -c constraints.txt 'llama-cpp-python[server]'`,
which compiles llama.cpp for many minutes; it takes a schema as {"type": "json_object",
"schema": ...} and a GGUF LoRA with --lora_path). It is started on a free loopback port
with the packaged GGUF and stopped at the end; `lora_gguf()` is the shipped adapter
converted to a GGUF LoRA, when that was done (docs/REMOTE_MODEL.md says how).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from assistant.llm.remote import StructuredOutput

INSTALL = ("no OpenAI-compatible model server is installed: set LLAMA_SERVER to llama.cpp's llama-server "
           "binary, or pip install -c constraints.txt 'llama-cpp-python[server]' (compiles llama.cpp, "
           "about 15 minutes on 2 cores); docs/REMOTE_MODEL.md")
# Where docs/REMOTE_MODEL.md's conversion writes the shipped adapter as a GGUF LoRA.
LORA_GGUF_ENV = "CARTSMITH_LORA_GGUF"


@dataclasses.dataclass(frozen=True)
class ServerKind:
    name: str  # "llama.cpp" | "llama-cpp-python"
    argv: tuple[str, ...]
    structured_output: StructuredOutput  # the form of response_format it understands


@dataclasses.dataclass(frozen=True)
class RunningServer:
    url: str  # the OpenAI API root, ".../v1"
    kind: ServerKind
    lora: str | None
    log: Path
    start_s: float


def find_server() -> ServerKind | None:
    exe = os.environ.get("LLAMA_SERVER") or shutil.which("llama-server")
    if exe and Path(exe).is_file():
        return ServerKind("llama.cpp", (exe,), "json_schema")
    if importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("uvicorn") is not None:
        return ServerKind("llama-cpp-python", (sys.executable, "-m", "llama_cpp.server"), "json_object")
    return None


def packaged_gguf() -> Path:
    from assistant.llm.loading import resolve_model

    return Path(resolve_model("packaged:SmolLM2-135M-Instruct").location)


def lora_gguf() -> Path | None:
    """The shipped adapter as a GGUF LoRA ($CARTSMITH_LORA_GGUF), or None."""
    path = os.environ.get(LORA_GGUF_ENV)
    return Path(path) if path and Path(path).is_file() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _args(kind: ServerKind, model: Path, port: int, lora: Path | None, threads: int, ctx: int) -> list[str]:
    if kind.name == "llama.cpp":
        args = [*kind.argv, "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-c", str(ctx),
                "-t", str(threads), "-np", "1", "--no-webui", "--jinja"]
        return [*args, "--lora", str(lora)] if lora else args
    args = [*kind.argv, "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(ctx), "--n_threads", str(threads)]
    return [*args, "--lora_path", str(lora)] if lora else args


@contextlib.contextmanager
def openai_server(kind: ServerKind, *, model: Path | None = None, lora: Path | None = None,
                  threads: int = 1, ctx: int = 2048, wait_s: float = 120.0) -> Iterator[RunningServer]:
    """The server running (its /v1/models answers); stopped and its log removed after."""
    model = model or packaged_gguf()
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="cartsmith-remote-"))
    log = folder / "server.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(_args(kind, model, port, lora, threads, ctx), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{kind.name} server exited ({proc.returncode}): "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind.name} server not ready in {wait_s:.0f} s: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.25)
        yield RunningServer(url, kind, str(lora) if lora else None, log, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
