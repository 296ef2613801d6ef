"""The book's page helpers: the figures, tables and small computations each notebook page shows.

A notebook under ``notebooks/`` reads as prose plus short calls; what it calls lives
here, one module per page topic, documented and tested like the rest of the package:

* :mod:`rfn.pages.flows`: notebook 01 (change of variables, log-determinant checks, two moons);
* :mod:`rfn.pages.latent_space`: notebook 02 (Glow on MNIST: t-SNE, interpolation, inpainting);
* :mod:`rfn.pages.latents`: notebook 03 (deterministic blur on SM-MNIST, the sinusoid ablation);
* :mod:`rfn.pages.training`: notebook 04 (hyperparameter tables, learning curves, reconstructions);
* :mod:`rfn.pages.ablations`: notebook 09 (the ablation runs, their curves and tables);
* :mod:`rfn.pages.results`, :mod:`rfn.pages.temperature`, :mod:`rfn.pages.interpolation`,
  :mod:`rfn.pages.kl_bpp`: notebooks 05-08.
* :mod:`rfn.pages.placed_digits`: the table of digits read at their place (SM-MNIST pages).

Pages sit at the level of :mod:`rfn.book` and :mod:`rfn.runs` in the import layers: they
may use models, metrics, presets, the evaluation and train-or-load, and nothing imports them
but the notebooks. Every setting of a trained run stays in :mod:`rfn.presets`; a page module
only chooses what to draw and measure.
"""
