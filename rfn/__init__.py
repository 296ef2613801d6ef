"""Recurrent Flow Networks for video generation.

A stochastic recurrent network (SRNN) whose emission is an exact conditional
multi-scale Glow, with SRNN/VRNN baselines, the video data sets and metrics
the thesis uses, and a training engine.

Floors: ``pixels``, ``assets``, ``flows``, ``nets`` and ``data`` import nothing of
ours above them; ``models`` build on ``flows`` and ``nets``; ``train``,
``metrics`` and ``cli`` sit on top.
"""

__version__ = "0.1.0"
