"""Start one parlab kernel and run a cell that links the runtime, so the
runtime and its dependencies are compiled into the kernel's build slot
(~/.cache/parlab/slots/0) before any user waits for them."""
import sys
import time

from jupyter_client.manager import start_new_kernel

t0 = time.time()
km, kc = start_new_kernel(kernel_name="parlab", startup_timeout=600)
try:
    reply = kc.execute_interactive("use parlab::prelude::*; 1 + 1", timeout=1800)
    status = reply["content"]["status"]
    print(f"warm-up cell: {status} after {time.time() - t0:.0f} s")
    if status != "ok":
        sys.exit(1)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
