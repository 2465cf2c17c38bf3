"""Shared fixtures: a real parlab kernel, driven with jupyter_client."""
import os
import queue
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

FIRST_CELL_TIMEOUT = 1800  # the runtime may still be compiling on a cold slot


class Cell:
    """What one execute_request produced."""

    def __init__(self, reply, msgs):
        self.reply = reply["content"]
        self.msgs = msgs

    @property
    def status(self):
        return self.reply["status"]

    def of(self, msg_type):
        return [m["content"] for m in self.msgs if m["msg_type"] == msg_type]

    @property
    def stdout(self):
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stdout")

    @property
    def stderr(self):
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stderr")

    @property
    def result(self):
        res = self.of("execute_result")
        return res[0]["data"]["text/plain"] if res else None

    @property
    def error(self):
        errs = self.of("error")
        return errs[0] if errs else None


def run(kc, code, timeout=300, **kwargs):
    """Executes `code` and collects its iopub messages until idle."""
    msg_id = kc.execute(code, **kwargs)
    msgs = []
    deadline = time.time() + timeout
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            raise TimeoutError(f"no idle after {timeout} s for {code!r}")
        try:
            msg = kc.get_iopub_msg(timeout=remaining)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        msgs.append(msg)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    return Cell(reply, msgs)


def rank_lines(text):
    """{rank: [lines]} from `[r] line` output, checking every line has a prefix."""
    out = {}
    for line in text.splitlines():
        assert line.startswith("["), f"line without a rank prefix: {line!r}"
        rank, _, rest = line[1:].partition("] ")
        out.setdefault(int(rank), []).append(rest)
    return out


def ok(kernel, code):
    """Runs `code`, which must succeed; its Cell."""
    cell = run(kernel, code)
    assert cell.status == "ok", (code, cell.error)
    return cell


def start_parlab():
    km, kc = start_new_kernel(kernel_name="parlab", startup_timeout=120)
    warm = run(kc, "1", timeout=FIRST_CELL_TIMEOUT)
    assert warm.status == "ok", warm.msgs
    return km, kc


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_parlab()
    kc.km = km  # tests that interrupt need the manager (interrupt_mode: message)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def cache_root():
    """The kernel's cache directory, found as kernel/src/engine/slot.rs finds it."""
    if os.environ.get("PARLAB_CACHE_DIR"):
        return Path(os.environ["PARLAB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ["HOME"], ".cache")
    return Path(base) / "parlab"


def seeded_cache(path):
    """A new cache directory at `path` whose build slots are all cold but
    which shares the real cache's seed and shared-library sources (their
    paths are part of what cargo finds fresh in the seed); its environment."""
    real = cache_root()
    path.mkdir(parents=True, exist_ok=True)
    for part in ("seed", "shared"):
        os.symlink(real / part, path / part)
    return dict(os.environ, PARLAB_CACHE_DIR=str(path))
