"""genoseq: sequence analysis with recurrent and convolutional neural networks."""

__version__ = "0.1.0"
