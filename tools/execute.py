"""Execute notebooks in place (outputs stored) and print how long each took.

    python tools/execute.py book/why_mtl.ipynb [more.ipynb ...]
"""
import sys
import time

import nbformat
from nbclient import NotebookClient


def execute(path: str) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}}
                   ).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    for notebook in sys.argv[1:]:
        print(f"{notebook}: {execute(notebook):.1f} s", flush=True)
