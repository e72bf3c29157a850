"""The perforation family: PerforatedCNNs (Figurnov, Ibraimova, Vetrov, Kohli 2016), which
speed a convolutional network up by evaluating its convolutions at a subset of output positions
and filling the others with the nearest evaluated value (`layer.py`), with the paper's masks
(`masks.py`), and the `perforated_cnn` method that perforates a trained network and fine-tunes
it (`perforated_cnn.py`)."""
