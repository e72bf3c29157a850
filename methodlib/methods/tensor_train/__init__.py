"""The tensor-train family: `tt_layers`, LeNet-300-100 (or any classifier) whose first fully
connected layer is a TT-matrix (Novikov et al. 2015, "Tensorizing neural networks")."""
