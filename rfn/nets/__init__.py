"""Building-block networks (imports only :mod:`rfn.pixels` and :mod:`rfn.flows.distributions`).

* :mod:`rfn.nets.layers`: normalisation by name, the conv-norm-leaky-ReLU block.
* :mod:`rfn.nets.convlstm`: peephole ConvLSTM cell and its run over time (Shi et al., 2015).
* :mod:`rfn.nets.extractor`: VGG/DCGAN feature pyramid, one block per flow level (thesis 8.2.1).
* :mod:`rfn.nets.conditioner`: :class:`PyramidDecoder`, the extractor reversed, one map per
  level, finest first, with optional U-Net skips (thesis 8.2.3); the RFN's conditioning
  network (alias :data:`Conditioner`) and the baselines' decoder.
* :mod:`rfn.nets.dmol`: discretised mixture of logistics, an exact discrete likelihood (PixelCNN++).
* :mod:`rfn.nets.gaussian`: a two-convolution Gaussian parameter head and the learned-variance
  Gaussian output likelihood; re-exports the diagonal-Gaussian math of :mod:`rfn.flows.distributions`
  (density, KL, draws, the std parameterisation).
"""

from rfn.nets.conditioner import Conditioner, PyramidDecoder
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
    gaussian_log_density,
    kl_diag_gaussians,
    sample_diag_gaussian,
    std_from_raw,
    sum_per_sample,
)
from rfn.nets.layers import NORM_KINDS, STYLES, ConvNormAct, conv_block, norm_layer

__all__ = [
    "NORM_KINDS",
    "STYLES",
    "Conditioner",
    "ConvLSTM",
    "ConvLSTMCell",
    "ConvNormAct",
    "DiscretizedMixtureLogistics",
    "Extractor",
    "GaussianHead",
    "GaussianLikelihood",
    "PyramidDecoder",
    "conv_block",
    "dmol_log_prob",
    "dmol_num_params",
    "dmol_pixel_log_prob",
    "dmol_sample",
    "gaussian_log_density",
    "kl_diag_gaussians",
    "level_channels",
    "norm_layer",
    "sample_diag_gaussian",
    "std_from_raw",
    "sum_per_sample",
]
