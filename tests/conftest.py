"""Test-session settings.

Under pytest-xdist every worker is its own process; letting each use several
OpenMP threads oversubscribes the cores, and torch's spinning threads then slow
small operations down by orders of magnitude. One thread per worker is fastest.
"""

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
