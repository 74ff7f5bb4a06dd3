#!/usr/bin/python3
"""Executes a Jupyter notebook on a kernel without losing outputs (for `deno task notebooks`).

Deno 2.9.6's kernel can send `status: idle` before a cell's last output messages, and
nbconvert / nbclient stop listening at idle (../shared/PLATFORM.md: 5-10% of outputs lost).
This executor, on jupyter_client, sends each code cell, waits for its `execute_reply` on the
shell channel, and keeps reading IOPub until idle has been seen *and* no message has arrived
for a grace period. Any cell error stops the run with exit status 1, naming the cell.

usage: notebook_executor.py IN.ipynb OUT.ipynb KERNEL_NAME [--timeout S] [--grace S]
"""
import sys
import time
import queue

import nbformat
from jupyter_client.manager import start_new_kernel


def main() -> int:
    args = sys.argv[1:]
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, kernel = args[:3]
    timeout = float(args[args.index("--timeout") + 1]) if "--timeout" in args else 1800.0
    grace = float(args[args.index("--grace") + 1]) if "--grace" in args else 1.0
    nb = nbformat.read(src, as_version=4)
    import os
    km, kc = start_new_kernel(kernel_name=kernel, startup_timeout=120, cwd=os.path.dirname(os.path.abspath(src)))
    failed = None
    try:
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            count += 1
            started = time.time()
            msg_id = kc.execute(cell.source, allow_stdin=False)
            outputs = []
            reply = None
            idle = False
            last = time.time()
            while True:
                if time.time() - started > timeout:
                    failed = f"cell {index} timed out after {timeout:.0f} s"
                    break
                if reply is None:
                    try:
                        r = kc.get_shell_msg(timeout=0.05)
                        if r["parent_header"].get("msg_id") == msg_id:
                            reply = r
                    except queue.Empty:
                        pass
                try:
                    m = kc.get_iopub_msg(timeout=0.05)
                except queue.Empty:
                    if reply is not None and idle and time.time() - last > grace:
                        break
                    continue
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                last = time.time()
                t, c = m["msg_type"], m["content"]
                if t == "status":
                    idle = idle or c["execution_state"] == "idle"
                elif t == "stream":
                    if outputs and outputs[-1].output_type == "stream" and outputs[-1].name == c["name"]:
                        outputs[-1].text += c["text"]
                    else:
                        outputs.append(nbformat.v4.new_output("stream", name=c["name"], text=c["text"]))
                elif t in ("display_data", "execute_result"):
                    kw = {"data": c["data"], "metadata": c.get("metadata", {})}
                    if t == "execute_result":
                        kw["execution_count"] = c.get("execution_count")
                    outputs.append(nbformat.v4.new_output(t, **kw))
                elif t == "error":
                    outputs.append(nbformat.v4.new_output("error", ename=c["ename"], evalue=c["evalue"],
                                                          traceback=c["traceback"]))
                elif t == "clear_output":
                    outputs = []
            cell.outputs = outputs
            cell.execution_count = count
            if failed:
                break
            if reply is not None and reply["content"].get("status") == "error":
                c = reply["content"]
                failed = f"cell {index} raised {c.get('ename')}: {c.get('evalue')}"
                break
            if any(o.output_type == "error" for o in outputs):
                failed = f"cell {index} raised an error"
                break
            print(f"  cell {index}: {time.time() - started:.1f} s, {len(outputs)} outputs", file=sys.stderr, flush=True)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    nbformat.write(nb, dst)
    if failed:
        print(f"{src}: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
