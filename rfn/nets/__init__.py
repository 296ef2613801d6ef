"""Building-block networks (ground floor: imports nothing of ours but :mod:`rfn.pixels`).

* :mod:`rfn.nets.layers`: normalisation by name, the conv-norm-leaky-ReLU block.
* :mod:`rfn.nets.convlstm`: peephole ConvLSTM cell and its run over time (Shi et al., 2015).
* :mod:`rfn.nets.extractor`: VGG/DCGAN feature pyramid, one block per flow level (thesis 8.2.1).
* :mod:`rfn.nets.conditioner`: the extractor reversed, one condition map per flow level,
  finest first, with optional U-Net skips (thesis 8.2.3).
* :mod:`rfn.nets.dmol`: discretised mixture of logistics, an exact discrete likelihood (PixelCNN++).
* :mod:`rfn.nets.gaussian`: diagonal Gaussian density, KL and reparameterised draws, a
  two-convolution parameter head, and the learned-variance Gaussian output likelihood.
"""

from rfn.nets.conditioner import Conditioner
from rfn.nets.convlstm import ConvLSTM, ConvLSTMCell
from rfn.nets.dmol import (
    DiscretizedMixtureLogistics,
    dmol_log_prob,
    dmol_num_params,
    dmol_pixel_log_prob,
    dmol_sample,
)
from rfn.nets.extractor import Extractor, level_channels
from rfn.nets.gaussian import (
    GaussianHead,
    GaussianLikelihood,
    gaussian_log_prob,
    kl_diag_gaussians,
    sample_diag_gaussian,
)
from rfn.nets.layers import NORM_KINDS, STYLES, conv_block, norm_layer

__all__ = [
    "NORM_KINDS",
    "STYLES",
    "Conditioner",
    "ConvLSTM",
    "ConvLSTMCell",
    "DiscretizedMixtureLogistics",
    "Extractor",
    "GaussianHead",
    "GaussianLikelihood",
    "conv_block",
    "dmol_log_prob",
    "dmol_num_params",
    "dmol_pixel_log_prob",
    "dmol_sample",
    "gaussian_log_prob",
    "kl_diag_gaussians",
    "level_channels",
    "norm_layer",
    "sample_diag_gaussian",
]
