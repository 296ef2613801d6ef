"""Models built on :mod:`rfn.flows` and :mod:`rfn.nets`; importing this registers them all.

* :class:`RFN`: the Recurrent Flow Network (SRNN bottleneck + conditional Glow emission).
* :class:`SRNN`, :class:`VRNN`: the baselines, with DMOL or Gaussian outputs.
  These three share :mod:`rfn.models.recurrent` (with the public emission protocol
  ``emission_inputs`` / ``emission_log_prob`` / ``emission_sample``), their generation
  :mod:`rfn.models.sampling` and the posterior chain :mod:`rfn.models.chain`.
* :class:`ConvLSTMAutoencoder`: the deterministic baseline.
* :class:`ImageGlow`, :class:`ConditionalImageGlow`: Glow on single images.
"""

from rfn.models.dense import DenseSRNN, DenseSRNNConfig, DenseVRNN, DenseVRNNConfig  # noqa: F401 (registers dense-srnn, dense-vrnn)
from rfn.models.deterministic import ConvLSTMAutoencoder, DeterministicConfig
from rfn.models.image_glow import ConditionalImageGlow, ConditionalImageGlowConfig, ImageGlow, ImageGlowConfig
from rfn.models.point_flow import PointFlow, PointFlowConfig  # noqa: F401 (registers point-flow)
from rfn.models.recurrent import LatentConfig, RecurrentLatentModel, check_video
from rfn.models.registry import MODELS, build, register
from rfn.models.rfn import RFN, RFNConfig
from rfn.models.srnn import SRNN, VRNN, SRNNConfig, VRNNConfig

__all__ = [
    "MODELS",
    "RFN",
    "SRNN",
    "VRNN",
    "ConditionalImageGlow",
    "ConditionalImageGlowConfig",
    "ConvLSTMAutoencoder",
    "DeterministicConfig",
    "ImageGlow",
    "ImageGlowConfig",
    "LatentConfig",
    "RFNConfig",
    "RecurrentLatentModel",
    "SRNNConfig",
    "VRNNConfig",
    "build",
    "check_video",
    "register",
]
